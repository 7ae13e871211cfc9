import { Command, Option } from 'commander';
import { CAM_METHODS, createCam, type CamMethod } from '../attribution/cam.js';
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
    .option('-l, --layer <spec>', 'the feature-map layer: index or name (default: the last layer of at least 2x2 that reaches the classifier, printed)');
  addAttributionOptions(cmd, 'cam').action(async (images: string[], opts: CamCliOptions) => {
    const loaded = await openModelWithLabels(opts);
    const top = opts.class === undefined ? opts.top : undefined;
    const cam = createCam(loaded, { method: opts.method, layer: opts.layer, class: opts.class, top: opts.class !== undefined && opts.top !== undefined ? opts.top : top });
    const info = loaded.graph.layers[cam.layer];
    ui.info(`${opts.method} at layer ${info.index} ${info.name} [${info.outputShape.slice(1).join(', ')}]${opts.layer === undefined ? ' (default: the last feature map before the classifier; --layer to choose)' : ''}`);
    await runAttribution(loaded, images, opts, safeMethod(opts.method), { layer: info.name, method: opts.method }, (x) => cam.explain(x));
  });
  addLabelsOption(cmd);
  addMaxPixelsOption(cmd);
  addModelOptions(cmd);
  return examples(cmd, [
    'cnnviz cam examples/cat.jpg',
    'cnnviz cam examples/cat.jpg --class all --raw -o cat.both.png',
    'cnnviz cam examples/cat.jpg examples/coffee.jpg --method gradcam++ --json',
    'cnnviz cam examples/coffee.jpg -m mobilenet/ --top 2 --scale global',
    "cnnviz cam examples/cat.jpg --class dog --layer conv_pw_11_relu --method layercam",
  ]);
}

/** gradcam++ → gradcampp in file names. */
const safeMethod = (m: string) => m.replace(/\+/g, 'p');
