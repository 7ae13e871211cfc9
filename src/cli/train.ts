import path from 'node:path';
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { parseInputRange } from '../model/meta.js';
import { ARCH_NAMES } from '../train/arch.js';
import { DEFAULT_AUGMENT } from '../train/augment.js';
import { type BatchInfo, type EpochRecord } from '../train/loop.js';
import { checkOutputDir, trainFromFolder } from '../train/run.js';
import { parseFreeze, type Freeze } from '../train/transfer.js';
import { interceptInterrupt } from '../signal-cleanup.js';
import { addBackendOptions, choiceOption, examples, floatOption, intOption, startBackend, type CommonOptions } from './options.js';
import { progressBar, ui, type Progress } from './ui.js';

interface TrainOptions extends CommonOptions {
  output?: string;
  force: boolean;
  arch: string;
  inputSize: number;
  epochs: number;
  batchSize: number;
  lr: number;
  patience: number;
  valSplit: number;
  limit?: number;
  timeLimit: number;
  augment: boolean;
  minCrop: number;
  seed: number;
  base?: string;
  baseLayer?: string;
  freeze: Freeze;
  fineTuneEpochs: number;
  fineTuneLr: number;
  views: number;
}

/** Ctrl-C ends the run early on purpose: the best model is saved, and the exit code says so. */
class Interrupted extends Error {
  readonly exitCode = 130;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function epochLine(r: EpochRecord, epochs: number, improved: boolean): string {
  return `${r.phase ? `${r.phase} ` : ''}epoch ${r.epoch}/${epochs}  loss ${r.loss.toFixed(3)}  acc ${pct(r.accuracy)}  val_loss ${r.valLoss.toFixed(3)}  val_acc ${pct(r.valAccuracy)}  ${r.imagesPerSecond.toFixed(1)} img/s  ${Math.round(r.seconds)} s${improved ? '  * best, saved' : ''}`;
}

/** The command as typed, for cnnviz.json; arguments with spaces are quoted so it can be re-run. */
function commandLine(cmd: Command): string {
  const raw = (cmd.parent as (Command & { rawArgs?: string[] }) | null)?.rawArgs?.slice(2) ?? process.argv.slice(2);
  return ['cnnviz', ...raw.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))].join(' ');
}

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description('train a CNN classifier on a folder of images (one subfolder per class, optionally under train/ and val/)')
    .argument('<dataset>', 'folder with one subfolder of images per class, or train/ and val/ folders that each hold them')
    .option('-o, --output <dir>', 'folder to write model.json, weights.bin and cnnviz.json to (default: ./<dataset name>-model)')
    .option('--force', 'overwrite the model in an existing output folder', false)
    .addOption(new Option('--arch <name>', `architecture: ${ARCH_NAMES.join('|')} (see docs/train.md)`).default('vgg').argParser(choiceOption('--arch', ARCH_NAMES)))
    .option('--input-size <px>', 'square input side the images are resized (shorter side) and centre-cropped to', intOption('--input-size', 8, 1024), 96)
    .option('--input-range <lo,hi>', 'pixel range fed to the model', '0,1')
    .option('--epochs <n>', 'most epochs to train', intOption('--epochs', 1), 30)
    .option('--batch-size <n>', 'images per training step', intOption('--batch-size', 2, 4096), 32)
    .option('--lr <rate>', 'Adam learning rate (halved after patience/2 epochs without a better val loss)', floatOption('--lr', 1e-7, 1), 0.001)
    .option('--patience <n>', 'stop after this many epochs without a better val loss', intOption('--patience', 1), 6)
    .option('--val-split <fraction>', 'share of each class held out for validation when the dataset has no val/ folder', floatOption('--val-split', 0.01, 0.9), 0.2)
    .option('--limit <n>', 'use at most n training images per class, a seeded sample (default: all)', intOption('--limit', 1))
    .option('--time-limit <minutes>', 'stop before an epoch that would end after this many minutes (0: no limit)', floatOption('--time-limit', 0), 0)
    .option('--min-crop <fraction>', 'smallest random crop, as a share of the image side, scaled back up (zoom augmentation)', floatOption('--min-crop', 0.1, 1), DEFAULT_AUGMENT.minCrop)
    .option('--no-augment', 'train on the images as they are (default: random crop/scale, flip, brightness/contrast)')
    .option('--seed <n>', 'seed for the split, shuffling, augmentation and initial weights', intOption('--seed', 0), 1)
    .option('--base <model>', 'transfer learning: train a new head on this model (any layers model cnnviz opens), at its own input size and range, instead of --arch from scratch (default: none)')
    .option('--base-layer <spec>', "with --base: cut the backbone at this layer (default: its last layer with a spatial extent of at least 2x2, e.g. conv_pw_13_relu on MobileNet)")
    .option('--freeze <all|none|N>', 'with --base: all = train the head only; none = then fine-tune the whole backbone; N = then fine-tune its last N layers', parseFreeze, 'all' as Freeze)
    .option('--fine-tune-epochs <n>', 'with --base and --freeze none|N: most epochs of the fine-tune phase, after the head phase (--epochs)', intOption('--fine-tune-epochs', 0), 10)
    .option('--fine-tune-lr <rate>', 'with --base: Adam learning rate of the fine-tune phase', floatOption('--fine-tune-lr', 1e-8, 1), 0.0001)
    .option('--views <n>', 'with --base: views of each training image the frozen layers compute once: the image, its mirror image, then random crops (see --min-crop)', intOption('--views', 1, 16), 4)
    .option('--json', 'print the per-epoch history and the result as JSON on stdout', false)
    .action(async (dataset: string, opts: TrainOptions, self: Command) => {
      const inputRange = parseInputRange(opts.inputRange ?? '0,1');
      const explicit = (name: string) => self.getOptionValueSource(name) === 'cli';
      for (const flag of ['baseLayer', 'freeze', 'fineTuneEpochs', 'fineTuneLr', 'views'] as const) {
        if (!opts.base && explicit(flag)) throw new UsageError(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} goes with --base <model> (transfer learning)`);
      }
      if (opts.base && explicit('arch')) throw new UsageError(`--arch and --base both choose the network: --base trains a head on ${opts.base}, --arch one from scratch`);
      const base = opts.base
        ? { model: opts.base, layer: opts.baseLayer, inputRange: explicit('inputRange') ? inputRange : undefined, freeze: opts.freeze, fineTuneEpochs: opts.fineTuneEpochs, fineTuneLr: opts.fineTuneLr, views: opts.views }
        : undefined;
      const totalEpochs = opts.epochs + (base && base.freeze !== 'all' ? base.fineTuneEpochs : 0);
      const output = opts.output ?? `${path.basename(path.resolve(dataset))}-model`;
      checkOutputDir(output, opts.force);
      const backend = await startBackend(opts);
      let stop = false;
      // Once a batch has trained there is a model to keep: from then on the first Ctrl-C ends
      // training after the current batch and saves; a second one ends the process at once.
      // Before that (reading the dataset) Ctrl-C simply ends it.
      let giveBackCtrlC = () => {};
      const catchCtrlC = () =>
        interceptInterrupt(() => {
          stop = true;
          ui.warn('interrupted: finishing this batch, then saving the best model so far (Ctrl-C again to quit without saving)');
        });
      let bar: Progress | undefined;
      let decodeBar: Progress | undefined;
      try {
        const result = await trainFromFolder(
          { dataset, output, force: opts.force, arch: opts.arch, inputSize: opts.inputSize, inputRange, epochs: opts.epochs, batchSize: opts.batchSize, lr: opts.lr, patience: opts.patience, seed: opts.seed, valSplit: opts.valSplit, limit: opts.limit, timeLimitMinutes: opts.timeLimit, augment: opts.augment && { ...DEFAULT_AUGMENT, minCrop: opts.minCrop }, command: commandLine(self), backend, base },
          {
            onStage: (msg) => ui.info(msg),
            onDecode: (split, done, total) => {
              if (done === 1) decodeBar = progressBar(total, `decoding ${split} {bar} {value}/{total}`);
              decodeBar?.update(done);
              if (done === total) decodeBar?.stop();
            },
            onFeatures: (split, done, total) => {
              if (done <= 32) decodeBar = progressBar(total, `backbone features (${split}) {bar} {value}/{total}`);
              decodeBar?.update(done);
              if (done === total) decodeBar?.stop();
            },
            onBatch: (b: BatchInfo) => {
              if (b.epoch === 1 && b.batch === 1) giveBackCtrlC = catchCtrlC();
              if (b.batch === 1) bar = progressBar(b.batches, `epoch ${b.epoch}/${totalEpochs} {bar} {value}/{total} | loss {loss} acc {acc} | {ips} img/s`, { loss: '-', acc: '-', ips: '-' });
              bar?.update(b.batch, { loss: b.loss.toFixed(3), acc: pct(b.accuracy), ips: b.imagesPerSecond.toFixed(1) });
            },
            onEpoch: (r, improved) => {
              bar?.stop();
              ui.info(epochLine(r, totalEpochs, improved));
            },
            shouldStop: () => stop,
          },
        );
        bar?.stop();
        const { loop, sidecar, modelFile } = result;
        if (result.skipped.length) ui.warn(`skipped ${result.skipped.length} unreadable image(s), e.g. ${result.skipped[0].file}: ${result.skipped[0].reason}`);
        ui.info(
          `${loop.stoppedBy === 'epochs' ? 'done' : `stopped (${loop.stoppedBy})`} after ${loop.history.length} epoch(s) in ${(loop.seconds / 60).toFixed(1)} min: ` +
            `best epoch ${loop.best.epoch}, val_acc ${pct(loop.best.valAccuracy)}, val_loss ${loop.best.valLoss.toFixed(3)}; wrote ${modelFile}`,
        );
        if (opts.json) ui.json({ model: modelFile, ...sidecar });
        if (loop.stoppedBy === 'interrupted') throw new Interrupted(`interrupted: saved the best model so far (epoch ${loop.best.epoch}) to ${modelFile}`);
      } finally {
        giveBackCtrlC();
        bar?.stop();
      }
    });
  addBackendOptions(cmd);
  return examples(cmd, [
    'cnnviz train ../shared/data/cats-dogs -o models/catsdogs --base ../shared/data/models/mobilenet-v1-0.25-224 --epochs 60 --lr 0.003 --freeze 36 --fine-tune-epochs 15 --fine-tune-lr 0.0002',
    'cnnviz train photos/ -o my-model --input-size 64 --epochs 10',
    'cnnviz train photos/ -o my-model --arch tiny --val-split 0.1 --json > history.json',
    'cnnviz train photos/ -o my-model --base ../shared/data/models/mobilenet-v1-0.25-224 --epochs 20',
    'cnnviz train photos/ -o my-model --base mobilenet/ --freeze 12 --fine-tune-epochs 5 --fine-tune-lr 0.0001',
  ]);
}
