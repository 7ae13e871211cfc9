import path from 'node:path';
import { activeBackend } from '../backend/select.js';
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { checkOutputWritable, encodePng, readImage, writeOutput, writePng } from '../image/io.js';
import { resolveIndexList, resolveLayer } from '../model/address.js';
import { encodeAnimation } from '../dream/animation.js';
import { flatDreamNote } from '../dream/flat.js';
import { directionFromFile, directionFromPhotos, directionLayer } from '../dream/direction.js';
import { describeObjective, shorthandExpression } from '../dream/objectives/bind.js';
import { parseObjective } from '../dream/objectives/parse.js';
import { DIVERSITY_DEFAULTS, diversityExpression } from '../dream/objectives/group.js';
import { channelRead } from '../dream/flat.js';
import { logitsSource } from '../dream/logits.js';
import { createProbe } from '../dream/probe.js';
import { PARAM_KINDS, type ParamKind } from '../dream/param.js';
import { randomSeed } from '../dream/random.js';
import { DEFAULTS, KERAS_BASELINE, OPTIMIZER_KINDS, RENDER_SCALES, checkSettings, type DreamSettings, type OptimizerKind, type RenderScale } from '../dream/render.js';
import { dreamUnits } from '../dream/schedule.js';
import { dreamSheet } from '../dream/sheet.js';
import { checkNativeSize, dreamFileName, dreamSize, dreamSizeWarning, modelInput, neuronPosition, renderScaleFor, resolveClass } from '../dream/setup.js';
import { TRANSFORM_SETS, type TransformSet } from '../dream/transforms.js';
import { addLabelsOption, addMaxPixelsOption, addModelOptions, checkStdout, choiceOption, defaultLayer, examples, floatOption, intOption, openModelWithLabels, safeName, type CommonOptions, type LabelsOptions } from './options.js';
import { progressBar, ui } from './ui.js';

interface DreamOptions extends CommonOptions, LabelsOptions {
  layer?: string;
  filter?: string;
  filters?: string;
  objective: string;
  diversity: number;
  diversityWeight: number;
  diversityKeep: number;
  direction?: string;
  directionFrom?: string;
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

/** The flags' objective kinds: anything else given to --objective is an expression. */
const SHORTHANDS = ['channel', 'neuron', 'logit'] as const;
type Shorthand = (typeof SHORTHANDS)[number];
const isShorthand = (v: string): v is Shorthand => (SHORTHANDS as readonly string[]).includes(v);

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
    .option('--objective <kind|expr>', `what to maximize: ${SHORTHANDS.join('|')} (with --layer/--filter), or an expression such as 'channel(conv_pw_7_relu, 3) - 1e-3 * tv' (see docs/dream.md)`, 'channel')
    .option('--diversity <n>', 'paint n pictures of each filter, pushed apart by a diversity term: one row per filter (default: 1)', intOption('--diversity', 1, 64), 1)
    .option('--diversity-weight <w>', "weight of the diversity term --diversity adds (the objective minus w x diversity(layer))", floatOption('--diversity-weight', 0), DIVERSITY_DEFAULTS.weight)
    .option('--diversity-keep <k>', "release a picture from --diversity's push while its objective is below k of its filter's best picture (diversity(layer, keep=k); 0: Lucid's unguarded term)", floatOption('--diversity-keep', 0, 0.9), DIVERSITY_DEFAULTS.keep)
    .option('--direction <file>', 'vector for direction(...) in an --objective expression: a JSON array or CSV list, one number per channel (default: none)')
    .option('--direction-from <a,b>', "direction(...)'s vector as photo a's mean activation minus photo b's (default: none)")
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
        param: opts.param,
        decorrelate: opts.decorrelate,
        transforms: opts.transforms,
        optimizer: opts.optimizer,
        steps: opts.steps ?? (baseline ? KERAS_BASELINE.steps! : DEFAULTS.steps),
        lr: opts.lr ?? (baseline ? KERAS_BASELINE.lr! : DEFAULTS.lr),
        seed: opts.seed ?? randomSeed(),
        frameEvery: opts.frames ?? 0,
      };
      checkSettings(settings);
      const at = opts.at as unknown as [number, number] | undefined;
      const kind = isShorthand(opts.objective) ? opts.objective : undefined;
      if (!kind) {
        for (const flag of ['layer', 'at', 'class'] as const) {
          if (opts[flag] !== undefined) throw new UsageError(`--${flag} goes with --objective ${SHORTHANDS.join('|')}: an --objective expression names its own layers, units and positions`);
        }
      }
      if (kind !== 'neuron' && at) throw new UsageError('--at goes with --objective neuron');

      const loaded = await openModelWithLabels(opts);
      const backend = activeBackend();
      const layers = loaded.graph.layers;
      const layerIndex = kind === 'logit' ? layers.length - 1 : kind ? resolveLayer(opts.layer ?? defaultLayer(layers), layers) : undefined;
      if (kind === 'channel') {
        const info = layers[layerIndex!];
        // A channel is a map over a grid; a dense layer's unit is a neuron (or a class score).
        if (info.outputShape.length !== 4) throw new UsageError(`--objective channel needs a layer with height, width and channel axes, but ${info.name} has output [${info.outputShape.slice(1).join(', ')}]: use --objective neuron (one unit) or logit (a class score)`);
      }
      if (kind === 'neuron' && at) {
        const info = layers[layerIndex!];
        const [h, w] = info.outputShape.slice(1);
        if (info.outputShape.length !== 4) throw new UsageError(`--at needs a layer with spatial axes, but ${info.name} has output [${info.outputShape.slice(1).join(', ')}]`);
        if (h != null && w != null && (at[0] >= w || at[1] >= h)) throw new UsageError(`--at ${at[0]},${at[1]} is outside ${info.name}'s ${w}x${h} grid (x 0-${w - 1}, y 0-${h - 1})`);
      }
      let expression = kind ? shorthandExpression({ objective: kind, layer: layerIndex!, at, minimize: opts.minimize }) : opts.minimize ? `-(${opts.objective})` : opts.objective;
      let node = parseObjective(expression);
      let about = describeObjective(loaded, node);
      if (opts.diversity > 1 && !about.functions.includes('diversity')) {
        const layer = about.layers[0] ?? (kind === 'logit' ? undefined : layerIndex);
        if (layer === undefined) throw new UsageError(`--diversity needs an objective that reads a layer, but ${about.text} reads none`);
        expression = diversityExpression(expression, layer, opts.diversityWeight, opts.diversityKeep);
        node = parseObjective(expression);
        about = describeObjective(loaded, node);
      }
      let units: number[] = [];
      if (kind === 'logit') {
        if (!opts.class) throw new UsageError('--objective logit needs --class <index|label>');
        units = [resolveClass(opts.class, loaded.meta.labels, about.unitCount ?? 0)];
      } else if (opts.class) {
        throw new UsageError('--class goes with --objective logit');
      } else if (about.usesUnit) {
        const owner = kind ? `layer ${layers[layerIndex!].name}` : about.text;
        units = resolveIndexList(opts.filters ?? opts.filter ?? '0', about.unitCount ?? 0, 'filter', owner);
      } else if (opts.filters || explicit('filter')) {
        throw new UsageError(`--filter/--filters fill 'unit' in an --objective expression, but ${about.text} has none: write e.g. channel(<layer>, unit)`);
      }
      const input = modelInput(loaded);
      settings.size = dreamSize(input, opts.size);
      const start = opts.from ? await readImage(opts.from, { channels: input.channels as 1 | 3, size: [settings.size, settings.size], fit: 'cover', maxMegapixels: opts.maxPixels }) : undefined;
      // caricature(...) reads --from's photo; the dream itself starts from noise, as Lucid's.
      const caricature = about.functions.includes('caricature');
      let direction: number[] | undefined;
      if (opts.direction && opts.directionFrom) throw new UsageError('--direction and --direction-from both give the direction: give one of them');
      if (opts.direction) direction = await directionFromFile(opts.direction);
      if (opts.directionFrom) {
        const photos = opts.directionFrom.split(',');
        if (photos.length !== 2) throw new UsageError(`bad --direction-from '${opts.directionFrom}': expected two photos, a.jpg,b.jpg`);
        const layer = directionLayer(loaded, node);
        if (layer === undefined) throw new UsageError('--direction-from goes with an --objective expression that uses direction(<layer>)');
        const [a, b] = await Promise.all(photos.map((p) => readImage(p, { channels: input.channels as 1 | 3, size: [settings.size, settings.size], fit: 'cover', maxMegapixels: opts.maxPixels })));
        direction = directionFromPhotos(loaded, layer, a, b);
      }
      const objective = { expression, photo: caricature ? start : undefined, direction };
      const readLayers = [...(about.functions.includes('logit') ? [layers.length - 1] : []), ...about.layers];
      // A neuron's position addresses the layer's grid at the model's own size (as `layers`
      // shows it), so a neuron dream renders at fit scale unless native is asked for.
      settings.renderScale = renderScaleFor(loaded, readLayers, opts.renderScale ?? (about.functions.includes('neuron') ? 'fit' : undefined));
      if (settings.renderScale === 'native' && readLayers.length) {
        checkNativeSize(createProbe(loaded, readLayers.map((layer) => ({ layer }))), input, settings.size, settings.transforms, at);
      }
      const sizeWarning = dreamSizeWarning(input, opts.size, settings.renderScale);

      const nameParts = kind && {
        layer: kind === 'logit' ? 'logit' : safeName(layers[layerIndex!].name),
        objective: kind,
        // At native scale the grid's size follows the picture's: the default neuron is its centre.
        at: kind === 'neuron' ? (settings.renderScale === 'native' && !at ? 'centre' as const : neuronPosition(layers[layerIndex!].outputShape.slice(1).map((d) => d ?? -1), at)) : undefined,
        minimize: opts.minimize,
      };
      const fileName = (u: number[]) => (nameParts ? dreamFileName({ ...nameParts, units: u }) : `dream.${safeName(about.text).slice(0, 80)}${u.length === 1 && about.usesUnit ? `.${u[0]}` : ''}.png`);
      const output = opts.output ?? fileName(units);
      const animation = settings.frameEvery ? opts.animation ?? `${output.replace(/\.png$/i, '')}.webp` : undefined;
      // Before the slow part: a path that cannot be written fails now, not after the dream.
      checkOutputWritable(output);
      if (opts.outDir) checkOutputWritable(opts.outDir, 'folder');
      if (animation) checkOutputWritable(animation);
      // Notes come once the command is known to run: a refused one prints its error line only.
      for (const line of [...about.notes, sizeWarning]) if (line) ui.warn(line);
      if (opts.seed === undefined && !opts.json) ui.info(`seed ${settings.seed} (repeat with --seed ${settings.seed})`);
      const labelled = units.length > 1 || opts.diversity > 1;
      // What a shorthand dream reads, as the messages and --json have always named it.
      const target = kind === 'logit' ? logitsSource(loaded).name : kind === 'channel' ? channelRead(loaded, layerIndex!).name : kind === 'neuron' ? layers[layerIndex!].name : about.text;

      const t0 = Date.now();
      const batches = Math.ceil(Math.max(1, units.length) / Math.max(1, Math.floor(opts.batch / opts.diversity)));
      const bar = progressBar(settings.steps, '{bar} step {value}/{total}{batches} | objective {objective} | ETA {eta_formatted}', { objective: '-', batches: batches > 1 ? ` (${batches} batches)` : '' });
      let run;
      try {
        run = await dreamUnits(loaded, { objective, units, copies: opts.diversity, settings, start: caricature ? undefined : start }, { batchSize: opts.batch, workers: opts.workers }, (p) =>
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
      const sheet = dreamSheet(run, { labels: labelled });
      await writeOutput(output, await encodePng(sheet));
      const files: string[] = [];
      if (opts.outDir) {
        for (let i = 0; i < run.units.length; i++) {
          const copy = opts.diversity > 1 ? `.${i % opts.diversity}` : '';
          const file = path.join(opts.outDir, fileName([run.units[i]]).replace(/\.png$/, `${copy}.png`));
          await writePng(file, run.images[i]);
          files.push(file);
        }
      }
      if (animation && run.frames.length) {
        const frames = run.frames.map((images) => dreamSheet({ ...run, images }, { labels: labelled }));
        await writeOutput(animation, await encodeAnimation(frames, animation.toLowerCase().endsWith('.gif') ? 'gif' : 'webp'));
      }

      if (opts.json) {
        ui.json({
          model: loaded.source,
          layer: layerIndex === undefined ? null : { index: layerIndex, name: layers[layerIndex].name },
          target,
          objective: kind ?? 'expression',
          expression: about.text,
          minimize: opts.minimize,
          diversity: opts.diversity,
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
        ui.info(`wrote ${output}  (${target}, ${settings.steps} steps, ${seconds.toFixed(1)} s; objective ${best})`);
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
    "cnnviz dream --objective 'channel(conv_pw_4_relu, 7) + 0.5 * channel(conv_pw_4_relu, 9) - 1e-3 * tv'   # see docs/dream.md for the grammar",
    'cnnviz dream --layer 27 --filters 0-3 --diversity 4   # four different pictures of each filter, one row each',
    "cnnviz dream --objective 'caricature(conv_pw_4_relu)' --from examples/cat.jpg   # what the layer sees in the photo, exaggerated",
    "cnnviz dream --objective 'direction(conv_pw_4_relu)' --direction-from examples/cat.jpg,examples/coffee.jpg",
    "cnnviz dream --objective 'channel_interpolate(conv_pw_4_relu, 1, conv_pw_4_relu, 5) - 1e-2 * alignment(conv_pw_4_relu)'   # a row morphing from one channel to another",
    'cnnviz dream --layer 25 --filter 7 --render-scale fit   # resized to the model\'s 224 px input, as Lucent',
    'cnnviz dream --layer 5 --filter 2 --from examples/cat.jpg --steps 64 --frames 4',
    'cnnviz dream --layer 1 --filter 5 --param pixel --no-decorrelate --transforms none --optimizer sgd-l2   # the Keras baseline',
  ]);
}
