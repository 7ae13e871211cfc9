import path from 'node:path';
import { activeBackend } from '../backend/select.js';
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { checkOutputWritable, encodePng, readImage, writeOutput, writePng } from '../image/io.js';
import { resolveIndexList, resolveLayer } from '../model/address.js';
import { encodeAnimation } from '../dream/animation.js';
import { flatDreamNote } from '../dream/flat.js';
import { OBJECTIVE_KINDS, type ObjectiveKind } from '../dream/objectives.js';
import { PARAM_KINDS, type ParamKind } from '../dream/param.js';
import { randomSeed } from '../dream/random.js';
import { DEFAULTS, KERAS_BASELINE, OPTIMIZER_KINDS, RENDER_SCALES, checkSettings, type DreamSettings, type OptimizerKind, type RenderScale } from '../dream/render.js';
import { dreamUnits } from '../dream/schedule.js';
import { dreamSheet } from '../dream/sheet.js';
import { checkNativeSize, dreamFileName, dreamSize, dreamSizeWarning, dreamTarget, modelInput, neuronPosition, renderScaleFor, resolveClass } from '../dream/setup.js';
import { TRANSFORM_SETS, type TransformSet } from '../dream/transforms.js';
import { addLabelsOption, addMaxPixelsOption, addModelOptions, checkStdout, choiceOption, defaultLayer, examples, floatOption, intOption, openModelWithLabels, safeName, type CommonOptions, type LabelsOptions } from './options.js';
import { progressBar, ui } from './ui.js';

interface DreamOptions extends CommonOptions, LabelsOptions {
  layer?: string;
  filter?: string;
  filters?: string;
  objective: ObjectiveKind;
  at?: string;
  class?: string;
  minimize: boolean;
  param: ParamKind;
  decorrelate: boolean;
  transforms: TransformSet;
  optimizer: OptimizerKind;
  steps?: number;
  lr?: number;
  size?: number;
  renderScale?: RenderScale;
  seed?: number;
  from?: string;
  maxPixels: number;
  batch: number;
  workers?: number;
  output?: string;
  outDir?: string;
  frames?: number;
  animation?: string;
}

function parseAt(value: string): [number, number] {
  const m = value.trim().match(/^(\d+),(\d+)$/);
  if (!m) throw new UsageError(`bad --at '${value}': expected x,y in the layer's grid, e.g. 7,7`);
  return [Number(m[1]), Number(m[2])];
}

export function dreamCommand(): Command {
  const cmd = new Command('dream')
    .description('paint the picture a filter (channel, neuron or class) responds to most, by gradient ascent from noise (Lucid-style)')
    .option('-l, --layer <spec>', 'layer index (-1 = last) or name (default: the first convolution)')
    .option('-f, --filter <n>', 'channel (or neuron channel) to maximize', '0')
    .option('--filters <list>', "several channels as one sheet, e.g. '0-15', '1,5,9' or 'all' (default: none, one --filter)")
    .addOption(new Option('--objective <kind>', `what to maximize: ${OBJECTIVE_KINDS.join('|')}`).default('channel').argParser(choiceOption('--objective', OBJECTIVE_KINDS)))
    .option('--at <x,y>', "neuron position in the layer's grid for --objective neuron (default: the centre)", parseAt)
    .option('--class <index|label>', 'class for --objective logit, by index or label name (required there; no default)')
    .option('--minimize', 'paint what the unit responds to least (negative objective)', false)
    .addOption(new Option('--param <kind>', `image parameterization: ${PARAM_KINDS.join('|')}`).default('fft').argParser(choiceOption('--param', PARAM_KINDS)))
    .option('--no-decorrelate', 'optimize raw RGB instead of decorrelated colour axes (default: decorrelated)')
    .addOption(new Option('--transforms <set>', `robustness transforms: ${TRANSFORM_SETS.join('|')} (standard = pad 12, jitter 8, scale 0.9-1.1, rotate ±10°, jitter 4)`).default('standard').argParser(choiceOption('--transforms', TRANSFORM_SETS)))
    .addOption(new Option('--optimizer <kind>', `${OPTIMIZER_KINDS.join('|')} (sgd-l2 = the Keras example's normalised-gradient ascent)`).default('adam').argParser(choiceOption('--optimizer', OPTIMIZER_KINDS)))
    .option('--steps <n>', 'optimization steps (default: 512; 30 with sgd-l2)', intOption('--steps', 1, 100000))
    .option('--lr <rate>', 'learning rate (default: 0.05; step 10 with sgd-l2)', floatOption('--lr', 0))
    .option('--size <px>', "side of the painted picture (default: 128, or the model's fixed input size if smaller)", intOption('--size', 8, 2048))
    .addOption(new Option('--render-scale <mode>', `${RENDER_SCALES.join('|')}: native feeds the network the picture at its own size (as Lucid), fit resizes it to the model's input size (as Lucent) (default: native; fit for --objective neuron, and where the layer needs the model's input size, e.g. after a Flatten)`).argParser(choiceOption('--render-scale', RENDER_SCALES)))
    .option('--seed <n>', 'random seed: the same seed gives the same bytes (default: random, printed)', intOption('--seed', 0, 2 ** 31 - 1))
    .option('--from <image>', 'start from this picture instead of noise (DeepDream style) (default: noise)')
    .option('--batch <n>', 'pictures optimized together in one batch (the output depends on it, not on the core count)', intOption('--batch', 1, 256), 8)
    .option('--workers <n>', 'worker threads for many filters (default: one per core)', intOption('--workers', 1, 64))
    .option('-o, --output <path>', "PNG file, or '-' for stdout (default: dream.<layer>.<filter>.png)")
    .option('--out-dir <dir>', 'also write one PNG per filter into this folder (default: none)')
    .option('--frames <k>', 'also write an animation of every k-th step (see --animation) (default: 0, none)', intOption('--frames', 1))
    .option('--animation <path>', 'animated .webp or .gif for --frames (default: the PNG name with .webp)')
    .option('--json', 'print final objective per filter, seed, backend, wall time and paths as JSON on stdout', false)
    .action(async (opts: DreamOptions, command: Command) => {
      const explicit = (name: string) => command.getOptionValueSource(name) === 'cli';
      const baseline = opts.optimizer === 'sgd-l2';
      checkStdout(opts);
      if (opts.frames && opts.output === '-' && !opts.animation) throw new UsageError('--frames with -o - needs --animation <file.webp|file.gif>');
      if (opts.animation && !/\.(webp|gif)$/i.test(opts.animation)) throw new UsageError(`bad --animation '${opts.animation}': the name must end in .webp or .gif`);
      if (explicit('filter') && opts.filters) throw new UsageError('--filter and --filters both choose filters: give one of them');

      const settings: DreamSettings = {
        ...DEFAULTS,
        objective: opts.objective,
        minimize: opts.minimize,
        param: opts.param,
        decorrelate: opts.decorrelate,
        transforms: opts.transforms,
        optimizer: opts.optimizer,
        steps: opts.steps ?? (baseline ? KERAS_BASELINE.steps! : DEFAULTS.steps),
        lr: opts.lr ?? (baseline ? KERAS_BASELINE.lr! : DEFAULTS.lr),
        seed: opts.seed ?? randomSeed(),
        frameEvery: opts.frames ?? 0,
        at: opts.at as unknown as [number, number] | undefined,
      };
      checkSettings(settings);

      const loaded = await openModelWithLabels(opts);
      const backend = activeBackend();
      const layers = loaded.graph.layers;
      const layerIndex = settings.objective === 'logit' ? layers.length - 1 : resolveLayer(opts.layer ?? defaultLayer(layers), layers);
      const { target, units: count, note } = dreamTarget(loaded, layerIndex, settings.objective, settings.at);
      const owner = `layer ${target.name}`;
      let units: number[];
      if (settings.objective === 'logit') {
        if (!opts.class) throw new UsageError('--objective logit needs --class <index|label>');
        units = [resolveClass(opts.class, loaded.meta.labels, count)];
      } else {
        if (opts.class) throw new UsageError('--class goes with --objective logit');
        units = opts.filters ? resolveIndexList(opts.filters, count, 'filter', owner) : resolveIndexList(opts.filter ?? '0', count, 'filter', owner);
      }
      const input = modelInput(loaded);
      settings.size = dreamSize(input, opts.size);
      // A neuron's position addresses the layer's grid at the model's own size (as `layers`
      // shows it), so a neuron dream renders at fit scale unless native is asked for.
      settings.renderScale = renderScaleFor(loaded, layerIndex, opts.renderScale ?? (settings.objective === 'neuron' ? 'fit' : undefined));
      if (settings.renderScale === 'native') checkNativeSize(target, input, settings.size, settings.transforms, settings.at);
      const start = opts.from ? await readImage(opts.from, { channels: input.channels as 1 | 3, size: [settings.size, settings.size], fit: 'cover', maxMegapixels: opts.maxPixels }) : undefined;

      const sizeWarning = dreamSizeWarning(input, opts.size, settings.renderScale);

      const nameParts = {
        layer: settings.objective === 'logit' ? 'logit' : safeName(layers[layerIndex].name),
        objective: settings.objective,
        // At native scale the grid's size follows the picture's: the default neuron is its centre.
        at: settings.objective === 'neuron' ? (settings.renderScale === 'native' && !settings.at && target.shape.length === 3 ? 'centre' : neuronPosition(target, settings.at)) : undefined,
        minimize: settings.minimize,
      };
      const output = opts.output ?? dreamFileName({ ...nameParts, units });
      const animation = settings.frameEvery ? opts.animation ?? `${output.replace(/\.png$/i, '')}.webp` : undefined;
      // Before the slow part: a path that cannot be written fails now, not after the dream.
      checkOutputWritable(output);
      if (opts.outDir) checkOutputWritable(opts.outDir, 'folder');
      if (animation) checkOutputWritable(animation);
      // Notes come once the command is known to run: a refused one prints its error line only.
      for (const line of [note, sizeWarning]) if (line) ui.warn(line);
      if (opts.seed === undefined && !opts.json) ui.info(`seed ${settings.seed} (repeat with --seed ${settings.seed})`);

      const t0 = Date.now();
      const batches = Math.ceil(units.length / opts.batch);
      const bar = progressBar(settings.steps, '{bar} step {value}/{total}{batches} | objective {objective} | ETA {eta_formatted}', { objective: '-', batches: batches > 1 ? ` (${batches} batches)` : '' });
      let run;
      try {
        run = await dreamUnits(loaded, { layerIndex, units, settings, start }, { batchSize: opts.batch, workers: opts.workers }, (p) =>
          bar.update(Math.floor(p.done), { objective: p.objective.toFixed(3) }),
        );
      } finally {
        bar.stop();
      }
      const seconds = (Date.now() - t0) / 1000;

      for (let i = 0; i < run.units.length; i++) {
        const flat = flatDreamNote(run.units[i], run.images[i], run.objectives[i], settings.steps);
        if (flat) ui.warn(flat);
      }
      const sheet = dreamSheet(run, { labels: units.length > 1 });
      await writeOutput(output, await encodePng(sheet));
      const files: string[] = [];
      if (opts.outDir) {
        for (let i = 0; i < run.units.length; i++) {
          const file = path.join(opts.outDir, dreamFileName({ ...nameParts, units: [run.units[i]] }));
          await writePng(file, run.images[i]);
          files.push(file);
        }
      }
      if (animation && run.frames.length) {
        const frames = run.frames.map((images) => dreamSheet({ ...run, images }, { labels: units.length > 1 }));
        await writeOutput(animation, await encodeAnimation(frames, animation.toLowerCase().endsWith('.gif') ? 'gif' : 'webp'));
      }

      if (opts.json) {
        ui.json({
          model: loaded.source,
          layer: { index: layerIndex, name: layers[layerIndex].name },
          target: target.name,
          objective: settings.objective,
          minimize: settings.minimize,
          filters: run.units.map((u, i) => ({ filter: u, objective: run.objectives[i] })),
          seed: settings.seed,
          backend,
          workers: run.workers ?? 1,
          settings: { param: settings.param, decorrelate: settings.decorrelate, transforms: settings.transforms, optimizer: settings.optimizer, steps: settings.steps, lr: settings.lr, size: settings.size, renderScale: settings.renderScale, batch: opts.batch },
          seconds,
          output,
          files,
          animation: animation ?? null,
        });
      } else if (output !== '-') {
        const best = run.units.map((u, i) => `${u}: ${run.objectives[i].toFixed(3)}`).join(', ');
        ui.info(`wrote ${output}  (${target.name}, ${settings.steps} steps, ${seconds.toFixed(1)} s; objective ${best})`);
        if (files.length) ui.info(`wrote ${files.length} PNGs to ${opts.outDir}`);
        if (animation) ui.info(`wrote ${animation}`);
      }
    });
  addLabelsOption(cmd);
  addMaxPixelsOption(cmd);
  addModelOptions(cmd);
  return examples(cmd, [
    'cnnviz dream --layer 1 --filter 5',
    'cnnviz dream -m mobilenet/ --layer conv_pw_7_relu --filters 0-15 -o sheet.png',
    'cnnviz dream --objective logit --class cat --steps 256',
    'cnnviz dream --layer 25 --filter 7 --render-scale fit   # resized to the model\'s 224 px input, as Lucent',
    'cnnviz dream --layer 5 --filter 2 --from examples/cat.jpg --steps 64 --frames 4',
    'cnnviz dream --layer 1 --filter 5 --param pixel --no-decorrelate --transforms none --optimizer sgd-l2   # the Keras baseline',
  ]);
}
