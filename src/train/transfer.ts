import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { resolveLayer } from '../model/address.js';
import { isSpatial, lastSpatialLayer } from '../model/default-layer.js';
import { type LoadedModel } from '../model/load.js';
import { type InputRange } from '../model/meta.js';
import { type ImageSet } from './dataset.js';
import { fitLoop, imageFeeder, lossAndHits, type EpochRecord, type Feeder, type LoopEvents, type LoopOptions, type LoopResult, type TrainStep } from './loop.js';
import { labelsToTensor, imagesToTensor } from './augment.js';

/** `all`: only the head trains; `none`: the whole backbone fine-tunes; N: its last N layers do. */
export type Freeze = 'all' | 'none' | number;

export function parseFreeze(value: string): Freeze {
  const v = value.trim().toLowerCase();
  if (v === 'all' || v === 'none') return v;
  if (/^\d+$/.test(v)) return Number(v);
  throw new UsageError(`bad --freeze '${value}': expected all (train the head only), none (fine-tune the whole backbone) or N (fine-tune its last N layers, e.g. 12)`);
}

/** The nested backbone's name: its layers are addressed as `base/<layer>`. */
export const BASE_NAME = 'base';

export interface TransferModel {
  /** input → base (nested model) → global average pooling → head: what gets saved. */
  model: tf.LayersModel;
  base: tf.LayersModel;
  /** The new Dense layer (one sigmoid unit for 2 classes, softmax otherwise). */
  head: tf.layers.Layer;
  /** Where the backbone was cut, in its own layer numbering (`cnnviz layers -m <backbone>`). */
  cut: { index: number; name: string };
  /** Square input side and channels the backbone takes, and its pixel range. */
  inputSize: number;
  channels: number;
  inputRange: InputRange;
}

/**
 * The backbone's square input side: its fixed input size, else the size its cnnviz.json asks
 * for, else `fallback` (--input-size) for models that take any size.
 */
export function backboneInputSize(backbone: LoadedModel, fallback: number): number {
  const [h, w] = backbone.inputShape;
  const [sh, sw] = backbone.meta.inputSize ?? [null, null];
  const height = h ?? sh ?? fallback;
  const width = w ?? sw ?? fallback;
  if (height !== width) throw new UsageError(`backbone ${backbone.source} takes ${width}x${height} pictures: train --base needs a square input`);
  return height;
}

/** A backbone cut at one layer: a functional model sharing the loaded weights. */
export interface BackboneCut {
  base: tf.LayersModel;
  /** Where, in the backbone's own layer numbering (`cnnviz layers -m <backbone>`). */
  index: number;
  name: string;
}

/**
 * Cut a loaded backbone at `layer` (default: its last layer with a spatial extent of at least
 * 2x2), as one model named `base`, and check --freeze against it: both before any slow work.
 */
export function cutBackbone(backbone: LoadedModel, layer: string | undefined, freeze: Freeze): BackboneCut {
  if (backbone.kind === 'graph') {
    throw new UsageError(`--base ${backbone.source} is a TF.js graph model, whose weights are frozen constants: use a layers model (TF.js layers model.json or a Keras .h5/.keras file) as the backbone`);
  }
  const layers = backbone.graph.layers;
  const index = layer !== undefined ? resolveLayer(layer, layers) : lastSpatialLayer(layers);
  const info = layers[index];
  if (info.className === 'InputLayer' || !isSpatial(info)) {
    const fallback = layers[lastSpatialLayer(layers)];
    throw new UsageError(`--base-layer ${layer}: layer ${index} '${info.name}' (${info.className}, output [${info.outputShape.map((d) => d ?? '?').join(', ')}]) is not a feature map to pool; choose a layer with height, width and channels, e.g. ${fallback.index} '${fallback.name}' (the default)`);
  }
  const base = tf.model({ inputs: backbone.graph.inputs, outputs: info.output, name: BASE_NAME });
  const count = backboneLayers(base).length;
  if (typeof freeze === 'number' && freeze > count) {
    throw new UsageError(`--freeze ${freeze}: the backbone has ${count} layers up to ${info.name} (after its input), so N can be 0-${count} (or all, none)`);
  }
  return { base, index, name: info.name };
}

/**
 * Keras's `Sequential([base, GlobalAveragePooling2D(), Dense(...)])`: the cut backbone as one
 * nested model named `base`, then pooling and a new head.
 */
export function buildTransferModel(backbone: LoadedModel, cut: BackboneCut, opts: { classes: number; seed: number; inputSize: number }): TransferModel {
  const channels = backbone.inputShape[2];
  const size = backboneInputSize(backbone, opts.inputSize);
  const { base } = cut;
  const input = tf.input({ shape: [size, size, channels], name: 'image' });
  const features = base.apply(input) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(features) as tf.SymbolicTensor;
  const head = tf.layers.dense({
    name: 'head',
    units: opts.classes === 2 ? 1 : opts.classes,
    activation: opts.classes === 2 ? 'sigmoid' : 'softmax',
    kernelInitializer: tf.initializers.glorotUniform({ seed: opts.seed * 1000 }),
  });
  const model = tf.model({ inputs: input, outputs: head.apply(pooled) as tf.SymbolicTensor, name: 'cnnviz_transfer' });
  return { model, base, head, cut: { index: cut.index, name: cut.name }, inputSize: size, channels, inputRange: backbone.meta.inputRange };
}

/** The backbone's layers in order, without its InputLayer: what --freeze N counts from the end. */
export function backboneLayers(base: tf.LayersModel): tf.layers.Layer[] {
  return base.layers.filter((l) => l.getClassName() !== 'InputLayer');
}

/** Make the backbone's last `trainable` layers trainable and freeze the rest; returns how many train. */
export function setFrozen(base: tf.LayersModel, freeze: Freeze): number {
  const layers = backboneLayers(base);
  const open = freeze === 'all' ? 0 : freeze === 'none' ? layers.length : Math.min(freeze, layers.length);
  layers.forEach((l, i) => (l.trainable = i >= layers.length - open));
  return open;
}

/**
 * One optimizer step with every layer in inference mode (`training: false`), as Keras's
 * transfer-learning guide calls `base(x, training=False)`: batch norms use and keep their
 * moving statistics, frozen or not. tfjs-layers would otherwise normalise with the batch's
 * statistics and update the moving ones even in layers marked trainable = false.
 * Only `model.trainableWeights` change.
 */
export function inferenceModeStep(model: tf.LayersModel, optimizer: tf.Optimizer, classes: number): TrainStep {
  return async (x, y) => {
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    let hits: tf.Scalar | undefined;
    const { value, grads } = tf.variableGrads(
      () =>
        tf.tidy(() => {
          const p = model.apply(x, { training: false }) as tf.Tensor2D;
          const [losses, right] = lossAndHits(y, p, classes);
          hits = tf.keep(right.mean() as tf.Scalar);
          return losses.mean() as tf.Scalar;
        }),
      vars,
    );
    optimizer.applyGradients(grads);
    const loss = (await value.data())[0];
    const accuracy = (await hits!.data())[0];
    tf.dispose([value, hits!, ...Object.values(grads)]);
    return [loss, accuracy];
  };
}

/** Feature vectors [count, width] computed once; batches are rows of it. */
export interface FeatureSet {
  count: number;
  width: number;
  data: Float32Array;
  labels: Int32Array;
}

/** Run a set's images through `extractor` (inference mode) once, a batch at a time. */
export async function computeFeatures(extractor: tf.LayersModel, set: ImageSet, range: InputRange, onProgress?: (done: number) => void, batchSize = 32): Promise<FeatureSet> {
  const width = extractor.outputs[0].shape[1] as number;
  const data = new Float32Array(set.count * width);
  for (let start = 0; start < set.count; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, j) => start + j);
    const f = tf.tidy(() => extractor.predict(imagesToTensor(set, idx, range)) as tf.Tensor2D);
    data.set(await f.data(), start * width);
    f.dispose();
    onProgress?.(start + idx.length);
  }
  return { count: set.count, width, data, labels: set.labels };
}

export function featureFeeder(features: FeatureSet, classes: number): Feeder {
  return {
    count: features.count,
    inputs: (idx) => {
      const rows = new Float32Array(idx.length * features.width);
      idx.forEach((i, j) => rows.set(features.data.subarray(i * features.width, (i + 1) * features.width), j * features.width));
      return tf.tensor2d(rows, [idx.length, features.width]);
    },
    labels: (idx) => labelsToTensor(features, idx, classes),
  };
}

export interface TransferOptions {
  freeze: Freeze;
  fineTuneEpochs: number;
  fineTuneLr: number;
}

export interface TransferEvents extends LoopEvents {
  onStage?(message: string): void;
  onFeatures?(split: 'train' | 'val', done: number, total: number): void;
}

/**
 * Two phases. Head: the backbone is frozen, so its pooled features are computed once per image
 * (un-augmented: augmentation would need a backbone pass per view) and only the head trains, on
 * them. Fine-tune (unless --freeze all): the backbone's last layers train too, at a low rate,
 * on augmented images, in inference mode; it keeps the head phase's weights unless it beats
 * their val loss. `loop` holds the head phase's settings; the fine-tune phase shares all but
 * its epochs and rate.
 */
export async function trainTransfer(tm: TransferModel, train: ImageSet, val: ImageSet, classes: number, loop: LoopOptions, t: TransferOptions, events: TransferEvents = {}): Promise<LoopResult> {
  const t0 = Date.now();
  setFrozen(tm.base, 'all');
  const gap = tm.model.getLayer('gap');
  const extractor = tf.model({ inputs: tm.model.inputs, outputs: gap.output as tf.SymbolicTensor });
  events.onStage?.(`computing the frozen backbone's features once per image (${train.count + val.count} images)`);
  const trainFeatures = await computeFeatures(extractor, train, tm.inputRange, (n) => events.onFeatures?.('train', n, train.count));
  const valFeatures = await computeFeatures(extractor, val, tm.inputRange, (n) => events.onFeatures?.('val', n, val.count));

  const featureInput = tf.input({ shape: [trainFeatures.width], name: 'features' });
  const headModel = tf.model({ inputs: featureInput, outputs: tm.head.apply(featureInput) as tf.SymbolicTensor });
  const headOpt = tf.train.adam(loop.lr);
  events.onStage?.(`head phase: up to ${loop.epochs} epochs on cached features, backbone frozen`);
  const head = await fitLoop(headModel, headOpt, inferenceModeStep(headModel, headOpt, classes), featureFeeder(trainFeatures, classes), featureFeeder(valFeatures, classes), classes, { ...loop, phase: 'head' }, events);

  const elapsed = (Date.now() - t0) / 1000;
  const timeLeft = loop.timeLimitSeconds > 0 ? loop.timeLimitSeconds - elapsed : 0;
  if (t.freeze === 'all' || t.fineTuneEpochs === 0 || head.stoppedBy === 'interrupted' || (loop.timeLimitSeconds > 0 && timeLeft <= 0)) {
    return { ...head, seconds: elapsed };
  }
  const open = setFrozen(tm.base, t.freeze);
  events.onStage?.(`fine-tune phase: up to ${t.fineTuneEpochs} epochs, the backbone's last ${open} layers and the head at lr ${t.fineTuneLr}`);
  const opt = tf.train.adam(t.fineTuneLr);
  const fine = await fitLoop(
    tm.model,
    opt,
    inferenceModeStep(tm.model, opt, classes),
    imageFeeder(train, classes, tm.inputRange, loop.augment),
    imageFeeder(val, classes, tm.inputRange),
    classes,
    { ...loop, epochs: t.fineTuneEpochs, lr: t.fineTuneLr, firstEpoch: head.history.length, bestSoFar: head.best, phase: 'fine-tune', timeLimitSeconds: loop.timeLimitSeconds > 0 ? timeLeft : 0, seed: loop.seed + 1 },
    events,
  );
  const history: EpochRecord[] = [...head.history, ...fine.history];
  return { history, best: fine.best, stoppedBy: fine.stoppedBy, seconds: (Date.now() - t0) / 1000 };
}
