import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { checkOutputWritable } from '../image/io.js';
import { loadModel, type LoadedModel } from '../model/load.js';
import { type CnnvizJson, type InputRange } from '../model/meta.js';
import { saveModel } from '../model/save.js';
import { archSpec, buildModel, checkInputSize } from './arch.js';
import { type AugmentOptions } from './augment.js';
import { checkDecoded, classCounts, decodeImages, scanDataset, type DecodeReport } from './dataset.js';
import { trainLoop, type EpochRecord, type LoopEvents, type LoopResult } from './loop.js';
import { buildTransferModel, backboneInputSize, cutBackbone, trainTransfer, type BackboneCut, type Freeze } from './transfer.js';

/** Transfer learning (--base): the backbone and how much of it trains. */
export interface BaseOptions {
  /** Any model cnnviz loads (a layers model): model.json, its folder, or a Keras file. */
  model: string;
  /** Where to cut it (--base-layer; default: its last layer with a spatial extent of at least 2x2). */
  layer?: string;
  /** Overrides the backbone's own input range (--input-range given explicitly). */
  inputRange?: InputRange;
  freeze: Freeze;
  fineTuneEpochs: number;
  fineTuneLr: number;
  /** Views of each training picture cached (--views): the picture, its mirror image, random crops. */
  views: number;
}

export interface TrainRunOptions {
  dataset: string;
  output: string;
  force: boolean;
  arch: string;
  inputSize: number;
  inputRange: InputRange;
  epochs: number;
  batchSize: number;
  lr: number;
  patience: number;
  seed: number;
  valSplit: number;
  /** At most this many training images per class. */
  limit?: number;
  timeLimitMinutes: number;
  /** Augmentation ranges (see DEFAULT_AUGMENT), or false for none. */
  augment: AugmentOptions | false;
  /** The command line as typed, recorded in cnnviz.json. */
  command: string;
  backend: string;
  /** Train a head (and the top of) a loaded backbone instead of --arch from scratch. */
  base?: BaseOptions;
}

export interface TrainRunEvents extends LoopEvents {
  onStage?(message: string): void;
  onDecode?(split: 'train' | 'val', done: number, total: number): void;
  /** Transfer learning computes the frozen backbone's features once per image. */
  onFeatures?(split: 'train' | 'val', done: number, total: number): void;
}

export interface TrainRunResult {
  modelFile: string;
  sidecar: CnnvizJson;
  loop: LoopResult;
  skipped: DecodeReport['skipped'];
}

/** Refuse to overwrite a model folder unless asked, or one that cannot be written: checked before any slow work starts. */
export function checkOutputDir(dir: string, force: boolean): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`output ${dir} exists and is a file: -o names a folder for model.json, weights.bin and cnnviz.json`);
    if (readdirSync(dir).length > 0 && !force) throw new UsageError(`output folder ${dir} already exists: pass --force to overwrite the model in it, or choose another -o`);
  }
  checkOutputWritable(dir, 'folder');
}

/** Read a dataset folder, train a classifier on it and save the best epoch's model to `output`. */
export async function trainFromFolder(opts: TrainRunOptions, events: TrainRunEvents = {}): Promise<TrainRunResult> {
  let backbone: LoadedModel | undefined;
  let cut: BackboneCut | undefined;
  if (opts.base) {
    backbone = await loadModel(opts.base.model, { inputRange: opts.base.inputRange });
    cut = cutBackbone(backbone, opts.base.layer, opts.base.freeze);
  } else {
    checkInputSize(archSpec(opts.arch), opts.inputSize);
  }
  // The backbone decides the pictures' size, channels and range; --input-size only fills in a size it leaves open.
  const inputSize = backbone ? backboneInputSize(backbone, opts.inputSize) : opts.inputSize;
  const inputRange = backbone ? backbone.meta.inputRange : opts.inputRange;
  const channels = backbone ? backbone.inputShape[2] : 3;
  if (channels !== 1 && channels !== 3) throw new UsageError(`backbone ${backbone!.source} takes ${channels}-channel pictures: train reads photos as 1 (grey) or 3 (RGB) channels`);
  checkOutputDir(opts.output, opts.force);
  const backend = tf.getBackend();
  if (!tf.getKernel('Conv2DBackpropFilter', backend)) {
    throw new UsageError(`backend '${backend}' cannot train convolutions (it has no Conv2DBackpropFilter kernel): use --backend cpu`);
  }
  const files = await scanDataset(opts.dataset, { valSplit: opts.valSplit, seed: opts.seed, limit: opts.limit });
  const where = files.layout === 'split' ? 'train/ and val/' : `a seeded ${Math.round(opts.valSplit * 100)}% validation split`;
  events.onStage?.(`dataset ${files.root}: ${files.classes.length} classes (${files.classes.join(', ')}), ${files.train.length} training and ${files.val.length} validation images from ${where}`);

  const train = await decodeImages(files.train, inputSize, (n) => events.onDecode?.('train', n, files.train.length), 4, channels);
  const val = await decodeImages(files.val, inputSize, (n) => events.onDecode?.('val', n, files.val.length), 4, channels);
  checkDecoded([train, val], files.classes);
  const skipped = [...train.skipped, ...val.skipped];

  const transfer = backbone && cut ? buildTransferModel(backbone, cut, { classes: files.classes.length, seed: opts.seed, inputSize }) : undefined;
  const model = transfer ? transfer.model : buildModel(archSpec(opts.arch), inputSize, files.classes.length, opts.seed);
  const counts = { train: classCounts(train.set, files.classes), val: classCounts(val.set, files.classes) };
  const sidecar = (loop: { history: EpochRecord[]; best: EpochRecord; stoppedBy?: string; seconds: number }): CnnvizJson => ({
    name: path.basename(path.resolve(opts.output)),
    labels: files.classes,
    inputSize,
    inputRange,
    head: files.classes.length === 2 ? `sigmoid: P(${files.classes[1]})` : 'softmax',
    valAccuracy: round(loop.best.valAccuracy),
    valLoss: round(loop.best.valLoss),
    bestEpoch: loop.best.epoch,
    epochs: loop.history.length,
    stoppedBy: loop.stoppedBy ?? 'still training (checkpoint)',
    trainingSeconds: Math.round(loop.seconds),
    dataset: {
      name: path.basename(path.resolve(files.root)),
      layout: files.layout,
      train: counts.train,
      val: counts.val,
      skippedUnreadable: skipped.length,
    },
    training: {
      arch: transfer ? 'transfer' : opts.arch,
      ...(transfer && opts.base
        ? {
            base: {
              model: opts.base.model,
              name: backbone!.meta.name,
              layer: transfer.cut.name,
              layerIndex: transfer.cut.index,
              freeze: opts.base.freeze,
              fineTuneEpochs: opts.base.fineTuneEpochs,
              fineTuneLr: opts.base.fineTuneLr,
              views: opts.augment ? opts.base.views : 1,
            },
          }
        : {}),
      params: model.countParams(),
      epochsMax: opts.epochs,
      batchSize: opts.batchSize,
      lr: opts.lr,
      patience: opts.patience,
      seed: opts.seed,
      augment: opts.augment,
      backend: opts.backend,
      tfjs: tf.version.tfjs,
    },
    command: opts.command,
    history: loop.history.map((h) => ({ ...h, loss: round(h.loss), accuracy: round(h.accuracy), valLoss: round(h.valLoss), valAccuracy: round(h.valAccuracy), seconds: round(h.seconds, 1), imagesPerSecond: round(h.imagesPerSecond, 1) })),
  });

  const t0 = Date.now();
  const history: EpochRecord[] = [];
  const loopOptions = {
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    lr: opts.lr,
    patience: opts.patience,
    seed: opts.seed,
    inputRange,
    timeLimitSeconds: opts.timeLimitMinutes * 60,
    augment: opts.augment,
  };
  const loopEvents: TrainRunEvents = {
    ...events,
    // Each new best is saved as it happens, so a killed run still leaves its best model behind.
    onEpoch: async (record, improved) => {
      history.push(record);
      if (improved) await saveModel(model, opts.output, sidecar({ history, best: record, seconds: (Date.now() - t0) / 1000 }));
      await events.onEpoch?.(record, improved);
    },
  };
  const loop =
    transfer && opts.base
      ? await trainTransfer(transfer, train.set, val.set, files.classes.length, loopOptions, opts.base, loopEvents)
      : await trainLoop(model, train.set, val.set, files.classes.length, loopOptions, loopEvents);
  const final = sidecar(loop);
  const modelFile = await saveModel(model, opts.output, final);
  if (backbone) {
    // The backbone's layers live in two models (it and `base`): dispose each weight once.
    for (const w of new Set([...backbone.model.weights, ...model.weights])) w.dispose();
  } else {
    model.dispose();
  }
  return { modelFile, sidecar: final, loop, skipped };
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
