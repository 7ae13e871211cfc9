import { Command, Option } from 'commander';
import path from 'node:path';
import { BASELINES, SALIENCY_DEFAULTS, type Baseline } from '../attribution/saliency.js';
import { checkCascadable, weightedLayers } from '../attribution/cascade.js';
import { autoEvery, checkSanityMethods, sanityCheck, SANITY_DEFAULT_METHODS, SANITY_METHODS, stepsEvery } from '../attribution/sanity.js';
import { renderSanityGrid } from '../attribution/sanity-grid.js';
import { COLORMAPS } from '../image/colormap.js';
import { checkOutputWritable, encodePng, FITS, writeOutput, type Fit } from '../image/io.js';
import { refuseTerminalStdin } from '../image/stdin.js';
import { loadModelInput } from '../model/probe.js';
import { addLabelsOption, addMaxPixelsOption, addModelOptions, checkStdout, choiceOption, examples, floatOption, IMAGE_FORMATS, intOption, openModelWithLabels, type CommonOptions, type LabelsOptions } from './options.js';
import { progressBar, ui } from './ui.js';

interface SanityCliOptions extends CommonOptions, LabelsOptions {
  methods: string;
  class?: string;
  layer?: string;
  every?: number;
  seed: number;
  samples: number;
  noise: number;
  igSteps: number;
  baseline: Baseline;
  output?: string;
  json: boolean;
  tile: number;
  alpha: number;
  cmap: string;
  fit: Fit;
  maxPixels: number;
}

export function sanityCommand(): Command {
  const cmd = new Command('sanity')
    .description("Adebayo et al.'s sanity check: re-initialize a copy of the model's weights from the top layer down, and how much each method's map still correlates with the trained model's")
    .argument('<image>', `an image file (${IMAGE_FORMATS}), or '-' for stdin`)
    .option('-M, --methods <list>', `comma-separated: ${SANITY_METHODS.join(', ')}`, SANITY_DEFAULT_METHODS.join(','))
    .option('-c, --class <class>', "the class explained at every step: an index or a label (default: the trained model's prediction)")
    .option('-l, --layer <spec>', "the CAM methods' layer: index or name (default: as cam)")
    .option('--every <k>', 'maps at every k-th step of the cascade, and the last (default: about 8 steps; 1 for every layer)', intOption('--every', 1))
    .option('--seed <n>', "the re-initialization's draws and SmoothGrad's noise", intOption('--seed', 0), 0)
    .option('--samples <n>', 'smoothgrad: noisy copies averaged', intOption('--samples', 1, 10000), SALIENCY_DEFAULTS.samples)
    .option('--noise <f>', "smoothgrad: the noise's standard deviation, as a fraction of the input range", floatOption('--noise', 0, 10), SALIENCY_DEFAULTS.noise)
    .option('--ig-steps <n>', 'integrated-gradients: quadrature nodes', intOption('--ig-steps', 1, 10000), SALIENCY_DEFAULTS.steps)
    .addOption(new Option('--baseline <b>', `integrated-gradients: the picture it starts from: ${BASELINES.join('|')}`).default('black').argParser(choiceOption('--baseline', BASELINES)))
    .option('-o, --output <path>', "the grid PNG (rows: methods, columns: steps), or '-' for stdout (default: <image>.sanity.png)")
    .option('--json', 'the table as JSON on stdout: {image, class, label, layers, steps, correlations: {method: [per step]}}', false)
    .option('--tile <px>', 'side of each map in the grid', intOption('--tile', 16, 1024), 96)
    .option('--alpha <a>', "the map's opacity over the photo (1: the bare map)", floatOption('--alpha', 0, 1), 1)
    .addOption(new Option('--cmap <name>', `colormap: ${COLORMAPS.join('|')}`).default('inferno').argParser(choiceOption('--cmap', COLORMAPS)))
    .addOption(new Option('--fit <mode>', `how the image meets the model's input size: ${FITS.join('|')}`).default('cover').argParser(choiceOption('--fit', FITS)))
    .action(async (image: string, opts: SanityCliOptions) => {
      const methods = checkSanityMethods(opts.methods.split(',').map((m) => m.trim().toLowerCase()).filter(Boolean));
      checkStdout(opts);
      const output = opts.output ?? `${image === '-' ? 'stdin' : path.parse(image).name}.sanity.png`;
      if (output !== '-') checkOutputWritable(output);
      if (image === '-') refuseTerminalStdin();
      const loaded = await openModelWithLabels(opts);
      checkCascadable(loaded);
      const total = weightedLayers(loaded).length;
      const at = stepsEvery(total, opts.every ?? autoEvery(total));
      const { raster, tensor } = await loadModelInput(loaded, image, { fit: opts.fit, maxMegapixels: opts.maxPixels });
      ui.info(`${total} layers with weights, re-initialized from the top; maps at steps ${at.join(', ')}`);
      const bar = progressBar(at.length, 'sanity {bar} {value}/{total} steps');
      let run;
      try {
        run = await sanityCheck(loaded, [tensor], {
          methods, class: opts.class, layer: opts.layer, at, seed: opts.seed, samples: opts.samples, noise: opts.noise, steps: opts.igSteps, baseline: opts.baseline, keepMaps: true,
          onStep: (_k, done) => bar.update(done),
        });
      } finally {
        bar.stop();
        tensor.dispose();
      }
      const result = run.images[0];
      run.methods.forEach((m, j) => {
        if (!Number.isFinite(result.correlations[j][0])) ui.warn(`${m}: the trained model's map for ${result.label} is flat (one value everywhere): no ranking to correlate with (n/a)`);
      });
      await writeOutput(output, await encodePng(await renderSanityGrid(run, result, raster, { tile: opts.tile, alpha: opts.alpha, cmap: opts.cmap })));
      if (opts.json) {
        ui.json({
          image, class: result.class, label: result.label, seed: opts.seed, output,
          layers: run.layers.map((l) => ({ index: l.index, name: l.name, className: l.className })),
          steps: run.steps,
          correlations: Object.fromEntries(run.methods.map((m, j) => [m, result.correlations[j].map((r) => (Number.isFinite(r) ? r : null))])),
        });
        return;
      }
      // The table is the command's data: stdout, unless the PNG is there.
      const print = output === '-' ? (s: string) => ui.info(s) : (s: string) => process.stdout.write(`${s}\n`);
      print(`${image}: ${result.label} (${result.class}); Spearman correlation of |map| with the trained model's`);
      print(['step', 'randomized down to', ...run.methods].join('\t'));
      run.steps.forEach((k, s) => print([k, k ? run.layers[k - 1].name : '-', ...run.methods.map((_, j) => (Number.isFinite(result.correlations[j][s]) ? result.correlations[j][s].toFixed(3) : 'n/a'))].join('\t')));
      if (output !== '-') ui.info(`→ ${output}`);
    });
  addLabelsOption(cmd);
  addMaxPixelsOption(cmd);
  addModelOptions(cmd);
  return examples(cmd, [
    'cnnviz sanity examples/cat.jpg',
    'cnnviz sanity examples/cat.jpg --methods gradcam,guided --every 1 --json',
    'cnnviz sanity examples/cat.jpg --methods vanilla,integrated-gradients --ig-steps 16 --tile 64 -o cat.sanity.png',
  ]);
}

