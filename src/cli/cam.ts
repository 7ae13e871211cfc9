import { Command, Option } from 'commander';
import { CAM_METHODS, createCam, type CamMethod } from '../attribution/cam.js';
import { checkNativeInput } from '../attribution/layer.js';
import { NATIVE_MAX_SIDE } from '../model/probe.js';
import { addAttributionOptions, runAttribution, type AttributionCliOptions } from './attribution-run.js';
import { addLabelsOption, addMaxPixelsOption, addModelOptions, choiceOption, examples, IMAGE_FORMATS, openModelWithLabels } from './options.js';
import { ui } from './ui.js';

interface CamCliOptions extends AttributionCliOptions {
  method: CamMethod;
  layer?: string;
}

export function camCommand(): Command {
  const cmd = new Command('cam')
    .description('class activation maps: which parts of a photo made the prediction (Grad-CAM and friends), over the photo')
    .argument('<image...>', `image files (${IMAGE_FORMATS}), or '-' for one image on stdin`)
    .addOption(new Option('-M, --method <m>', `${CAM_METHODS.join('|')}`).default('gradcam').argParser(choiceOption('--method', CAM_METHODS)))
    .option('-l, --layer <spec>', 'the feature-map layer: index or name (default: the last layer of at least 2x2 that reaches the classifier, printed)')
    .addOption(new Option('--input-scale <s>', `fit: the image resized to the model's input; native: at its own size (longest side at most ${NATIVE_MAX_SIDE} px), so a small object keeps the scale the model was trained at (models convolutional up to a global pooling only)`).default('fit').argParser(choiceOption('--input-scale', ['fit', 'native'] as const)));
  addAttributionOptions(cmd, 'cam').action(async (images: string[], opts: CamCliOptions) => {
    const loaded = await openModelWithLabels(opts);
    const cam = createCam(loaded, { method: opts.method, layer: opts.layer, class: opts.class, top: opts.top });
    if (opts.inputScale === 'native') checkNativeInput(loaded, cam.layer);
    const info = loaded.graph.layers[cam.layer];
    const shape = `[${info.outputShape.slice(1).join(', ')}]${opts.inputScale === 'native' ? ' at the model\'s input size, larger for larger images' : ''}`;
    ui.info(`${opts.method} at layer ${info.index} ${info.name} ${shape}${opts.layer === undefined ? ' (default: the last feature map before the classifier; --layer to choose)' : ''}`);
    await runAttribution(loaded, images, opts, safeMethod(opts.method), { layer: info.name, method: opts.method }, (x) => cam.explain(x));
  });
  addLabelsOption(cmd);
  addMaxPixelsOption(cmd);
  addModelOptions(cmd);
  return examples(cmd, [
    'cnnviz cam examples/cat.jpg',
    'cnnviz cam examples/cat.jpg --class all --raw -o cat.both.png',
    'cnnviz cam examples/cat.jpg examples/coffee.jpg --method gradcam++ --json',
    'cnnviz cam examples/cat.jpg --top 2 --scale global',
    "cnnviz cam examples/coffee.jpg -m mobilenet/ --class espresso --class 'coffee mug'",
    "cnnviz cam examples/cat.jpg --class dog --layer conv_pw_11_relu --method layercam",
    'cnnviz cam examples/cat.jpg --input-scale native --json',
  ]);
}

/** gradcam++ → gradcampp in file names. */
const safeMethod = (m: string) => m.replace(/\+/g, 'p');
