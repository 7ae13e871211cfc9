import { Command, Option } from 'commander';
import { QUADRATURES, type Quadrature } from '../attribution/quadrature.js';
import { BASELINES, createSaliency, SALIENCY_DEFAULTS, SALIENCY_METHODS, type Baseline, type SaliencyMethod } from '../attribution/saliency.js';
import { addAttributionOptions, runAttribution, type AttributionCliOptions } from './attribution-run.js';
import { addLabelsOption, addMaxPixelsOption, addModelOptions, choiceOption, examples, floatOption, IMAGE_FORMATS, intOption, openModelWithLabels } from './options.js';

interface SaliencyCliOptions extends AttributionCliOptions {
  method: SaliencyMethod;
  samples: number;
  noise: number;
  steps: number;
  baseline: Baseline;
  quadrature: Quadrature;
  seed: number;
}

export function saliencyCommand(): Command {
  const cmd = new Command('saliency')
    .description("gradient saliency: each pixel's influence on a class score (vanilla, SmoothGrad, Integrated Gradients, gradient x input, guided backprop)")
    .argument('<image...>', `image files (${IMAGE_FORMATS}), or '-' for one image on stdin`)
    .addOption(new Option('-M, --method <m>', `${SALIENCY_METHODS.join('|')}`).default('vanilla').argParser(choiceOption('--method', SALIENCY_METHODS)))
    .option('--samples <n>', 'smoothgrad: noisy copies averaged', intOption('--samples', 1, 10000), SALIENCY_DEFAULTS.samples)
    .option('--noise <f>', "smoothgrad: the noise's standard deviation, as a fraction of the input range", floatOption('--noise', 0, 10), SALIENCY_DEFAULTS.noise)
    .option('--steps <n>', 'integrated-gradients: gradient evaluations along the path from the baseline to the photo', intOption('--steps', 1, 10000), SALIENCY_DEFAULTS.steps)
    .addOption(new Option('--quadrature <rule>', `integrated-gradients: where the steps go: ${QUADRATURES.join('|')} (adaptive: more where the score's rise disagrees with the gradients)`).default(SALIENCY_DEFAULTS.quadrature).argParser(choiceOption('--quadrature', QUADRATURES)))
    .addOption(new Option('--baseline <b>', `integrated-gradients: the picture it starts from: ${BASELINES.join('|')}`).default('black').argParser(choiceOption('--baseline', BASELINES)))
    .option('--seed <n>', "smoothgrad's noise and the noise baseline", intOption('--seed', 0), 0);
  addAttributionOptions(cmd, 'saliency').action(async (images: string[], opts: SaliencyCliOptions) => {
    const loaded = await openModelWithLabels(opts);
    const s = createSaliency(loaded, { method: opts.method, class: opts.class, top: opts.top, samples: opts.samples, noise: opts.noise, steps: opts.steps, baseline: opts.baseline, quadrature: opts.quadrature, seed: opts.seed });
    await runAttribution(loaded, images, opts, opts.method, { method: opts.method }, (x) => s.explain(x));
  });
  addLabelsOption(cmd);
  addMaxPixelsOption(cmd);
  addModelOptions(cmd);
  return examples(cmd, [
    'cnnviz saliency examples/cat.jpg',
    'cnnviz saliency examples/cat.jpg --method smoothgrad --samples 20 --raw',
    'cnnviz saliency examples/cat.jpg --method integrated-gradients --baseline blur --json',
    'cnnviz saliency examples/cat.jpg --method integrated-gradients --steps 128 --quadrature gauss-legendre',
    'cnnviz saliency examples/cat.jpg examples/coffee.jpg --method guided --class 0 -o out/',
  ]);
}
