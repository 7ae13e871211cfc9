import os from 'node:os';
import { Command, Option } from 'commander';
import { CAM_METHODS, createCam, type CamMethod } from '../attribution/cam.js';
import { checkNativeInput } from '../attribution/layer.js';
import { NATIVE_MAX_SIDE } from '../model/probe.js';
import { FAITHFULNESS_DEFAULTS } from '../attribution/faithfulness.js';
import { UsageError } from '../errors.js';
import { addAttributionOptions, runAttribution, type AttributionCliOptions } from './attribution-run.js';
import { parseCamMethods, runCamEvaluation } from './cam-evaluate.js';
import { addLabelsOption, addMaxPixelsOption, addModelOptions, choiceOption, examples, IMAGE_FORMATS, intOption, openModelWithLabels } from './options.js';
import { ui } from './ui.js';

interface CamCliOptions extends AttributionCliOptions {
  method: CamMethod[];
  layer?: string;
  evaluate?: string;
  sample?: number;
  seed: number;
  steps: number;
  workers?: number;
}

export function camCommand(): Command {
  const cmd = new Command('cam')
    .description('class activation maps: which parts of a photo made the prediction (Grad-CAM and friends), over the photo')
    .argument('[image...]', `image files (${IMAGE_FORMATS}), or '-' for one image on stdin`)
    .addOption(new Option('-M, --method <m>', `${CAM_METHODS.join('|')}; with --evaluate also all, or several separated by commas`).default(['gradcam'], 'gradcam').argParser(parseCamMethods))
    .option('-l, --layer <spec>', 'the feature-map layer: index or name (default: the last layer of at least 2x2 that reaches the classifier, printed)')
    .option('--evaluate <dir>', 'instead of pictures: faithfulness (deletion/insertion AUC, ROAD) of --method over a folder of photos, beside random, Sobel and Gaussian baseline maps (docs/cam.md)')
    .option('--sample <n>', 'with --evaluate: a seeded sample of n photos of the folder (default: all)', intOption('--sample', 1))
    .option('--seed <n>', 'with --evaluate: seeds the sample, the random baseline and ROAD\'s noise', intOption('--seed', 0), 0)
    .option('--steps <n>', 'with --evaluate: deletion/insertion curve steps', intOption('--steps', 2, 256), FAITHFULNESS_DEFAULTS.steps)
    .option('--workers <n>', 'with --evaluate: worker threads (default: one per core)', intOption('--workers', 1, 256))
    .addOption(new Option('--input-scale <s>', `fit: the image resized to the model's input; native: at its own size (longest side at most ${NATIVE_MAX_SIDE} px), so a small object keeps the scale the model was trained at (models convolutional up to a global pooling only)`).default('fit').argParser(choiceOption('--input-scale', ['fit', 'native'] as const)));
  addAttributionOptions(cmd, 'cam').action(async (images: string[], opts: CamCliOptions) => {
    if (opts.evaluate !== undefined && images.length) throw new UsageError(`give image files or --evaluate <dir>, not both (image files given: ${images.length}; --evaluate ${opts.evaluate})`);
    if (opts.evaluate === undefined && !images.length) throw new UsageError('no images given: name image files, or a folder with --evaluate <dir>');
    const loaded = await openModelWithLabels(opts);
    if (opts.evaluate !== undefined) {
      if (opts.inputScale === 'native') throw new UsageError(`--input-scale native is for pictures: --evaluate ${opts.evaluate} scores maps at the model's input size (omit --input-scale)`);
      await runCamEvaluation(loaded, opts.evaluate, { methods: opts.method, layer: opts.layer, sample: opts.sample, seed: opts.seed, steps: opts.steps, workers: opts.workers ?? os.availableParallelism(), fit: opts.fit, maxMegapixels: opts.maxPixels, json: opts.json, class: opts.class, top: opts.top });
      return;
    }
    if (opts.method.length > 1) throw new UsageError(`--method '${opts.method.join(',')}' names ${opts.method.length} methods: pictures take one (several are for --evaluate)`);
    const method = opts.method[0];
    const cam = createCam(loaded, { method, layer: opts.layer, class: opts.class, top: opts.top });
    if (opts.inputScale === 'native') checkNativeInput(loaded, cam.layer);
    const info = loaded.graph.layers[cam.layer];
    const shape = `[${info.outputShape.slice(1).join(', ')}]${opts.inputScale === 'native' ? ' at the model\'s input size, larger for larger images' : ''}`;
    ui.info(`${method} at layer ${info.index} ${info.name} ${shape}${opts.layer === undefined ? ' (default: the last feature map before the classifier; --layer to choose)' : ''}`);
    await runAttribution(loaded, images, opts, safeMethod(method), { layer: info.name, method }, (x) => cam.explain(x));
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
    'cnnviz cam --evaluate examples/ --method gradcam,layercam',
    'cnnviz cam --evaluate photos/ -m mobilenet/ --method all --sample 200 --json > faithfulness.json',
  ]);
}

/** gradcam++ → gradcampp in file names. */
const safeMethod = (m: string) => m.replace(/\+/g, 'p');
