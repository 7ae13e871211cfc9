import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { resolveLayer } from '../model/address.js';
import { isSpatial, lastSpatialLayer } from '../model/default-layer.js';
import { type LoadedModel } from '../model/load.js';
import { type InputRange } from '../model/meta.js';
import { type ImageSet } from './dataset.js';
import { fitLoop, imageFeeder, lossAndHits, type EpochRecord, type Feeder, type LoopEvents, type LoopOptions, type LoopResult, type TrainStep } from './loop.js';
import { augmentBatch, labelsToTensor, imagesToTensor, type AugmentOptions } from './augment.js';
import { createRng, type Rng } from './random.js';
import { installBatchNormGradient } from '../backend/batchnorm-gradient.js';

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

/**
 * Activations of one layer computed once per picture, for one or more views of it (see
 * cacheOutputs): view v of picture i is row i of views[v].
 */
export interface CachedSet {
  count: number;
  /** Shape of one row, without the batch axis. */
  shape: number[];
  views: Float32Array[];
  labels: Int32Array;
}

/** Training batches draw a random view per picture; validation (no rng) reads view 0. */
export function cachedFeeder(set: CachedSet, classes: number): Feeder {
  const width = set.shape.reduce((a, b) => a * b, 1);
  return {
    count: set.count,
    inputs: (idx, rng) => {
      const rows = new Float32Array(idx.length * width);
      idx.forEach((i, j) => {
        const view = rng && set.views.length > 1 ? Math.floor(rng.next() * set.views.length) : 0;
        rows.set(set.views[view].subarray(i * width, (i + 1) * width), j * width);
      });
      return tf.tensor(rows, [idx.length, ...set.shape]);
    },
    labels: (idx) => labelsToTensor(set, idx, classes),
  };
}

/**
 * Run a set's pictures through `extractor` once per view, in inference mode, keeping each of
 * its outputs: one CachedSet per output. View 0 is the picture as it is, view 1 (with
 * augmentation) its mirror image, views 2 and up random crops, flips and brightness/contrast
 * drawn from `rng` with `augment`'s ranges.
 */
export async function cacheOutputs(extractor: tf.LayersModel, set: ImageSet, range: InputRange, nViews: number, augment: AugmentOptions | false, rng: Rng, onProgress?: (done: number) => void, batchSize = 32): Promise<CachedSet[]> {
  const shapes = extractor.outputs.map((o) => o.shape.slice(1) as number[]);
  const widths = shapes.map((sh) => sh.reduce((a, b) => a * b, 1));
  const views = augment ? nViews : 1;
  const caches = shapes.map((shape, k) => ({ count: set.count, shape, labels: set.labels, views: Array.from({ length: views }, () => new Float32Array(set.count * widths[k])) }));
  for (let start = 0; start < set.count; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, j) => start + j);
    for (let v = 0; v < views; v++) {
      const outs = tf.tidy(() => {
        const x = imagesToTensor(set, idx, range);
        const view = v === 0 || !augment ? x : v === 1 ? tf.reverse(x, 2) : augmentBatch(x, rng, range, augment);
        const y = extractor.predict(view);
        return Array.isArray(y) ? y : [y];
      });
      for (let k = 0; k < outs.length; k++) caches[k].views[v].set(await outs[k].data(), start * widths[k]);
      tf.dispose(outs);
    }
    onProgress?.(start + idx.length);
  }
  return caches;
}

/**
 * The part of the network above the frozen layers, as a model of its own that shares their
 * weights: the backbone's last `open` layers re-applied to a new input, then pooling and the
 * head. Only a plain chain can be split so (each layer reading just the one before it); for
 * anything else, or when the backbone trains whole, this returns undefined.
 */
export function topOfChain(tm: TransferModel, open: number): { boundary: tf.SymbolicTensor; top: tf.LayersModel } | undefined {
  const layers = backboneLayers(tm.base);
  const k = layers.length - open;
  if (open <= 0 || k <= 0) return undefined;
  for (let i = k; i < layers.length; i++) {
    const nodes = layers[i].inboundNodes;
    if (nodes.length < 1 || nodes[0].inboundLayers.length !== 1 || nodes[0].inboundLayers[0] !== layers[i - 1]) return undefined;
  }
  if (tm.base.outputs[0] !== layers[layers.length - 1].output) return undefined;
  const boundary = layers[k - 1].output as tf.SymbolicTensor;
  const input = tf.input({ shape: boundary.shape.slice(1) as number[], name: 'frozen_features' });
  let x: tf.SymbolicTensor = input;
  for (let i = k; i < layers.length; i++) x = layers[i].apply(x) as tf.SymbolicTensor;
  x = tm.model.getLayer('gap').apply(x) as tf.SymbolicTensor;
  const top = tf.model({ inputs: input, outputs: tm.head.apply(x) as tf.SymbolicTensor });
  return { boundary, top };
}

/** Most floats the frozen layers' cached outputs may take (about 1.6 GB). */
const CACHE_BUDGET = 400e6;

export interface TransferOptions {
  freeze: Freeze;
  fineTuneEpochs: number;
  fineTuneLr: number;
  /** Views of each training picture the frozen layers see once (with augmentation): the picture, its mirror image, then random crops. */
  views: number;
}

export interface TransferEvents extends LoopEvents {
  onStage?(message: string): void;
  onFeatures?(split: 'train' | 'val', done: number, total: number): void;
}

/**
 * Two phases. Head: only the new head trains, on the frozen backbone's pooled features.
 * Fine-tune (unless --freeze all): the backbone's last layers train too, at a low rate, in
 * inference mode; it keeps the head phase's weights unless it beats their val loss.
 *
 * Whatever is frozen gives the same output every epoch, so it runs once per view of each
 * picture (the picture, its mirror image, random crops: `views` of them, drawn once, not anew
 * every epoch), storing the pooled features and the input of the first layer that fine-tunes;
 * both phases then train on those, each batch drawing one view per picture. The batch norm
 * gradient is the exact broadcasting one dreams use (tfjs's stock one tiles). When the top cannot be split off (not a chain) or would not fit in memory, the
 * fine-tune phase runs the whole network on every batch with the usual random augmentation.
 */
export async function trainTransfer(tm: TransferModel, train: ImageSet, val: ImageSet, classes: number, loop: LoopOptions, t: TransferOptions, events: TransferEvents = {}): Promise<LoopResult> {
  const t0 = Date.now();
  const open = t.freeze === 'all' || t.fineTuneEpochs === 0 ? 0 : setFrozen(tm.base, t.freeze);
  setFrozen(tm.base, 'all');
  const views = loop.augment === false ? 1 : Math.max(1, t.views);
  let split = topOfChain(tm, open);
  if (split) {
    const floats = (train.count * views + val.count) * split.boundary.shape.slice(1).reduce((a: number, b) => a * (b ?? 1), 1);
    if (floats > CACHE_BUDGET) split = undefined;
  }
  // One pass over the backbone yields both: its pooled output and the boundary inside it.
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pooled_features' }).apply(tm.base.outputs[0]) as tf.SymbolicTensor;
  const extractor = tf.model({ inputs: tm.base.inputs, outputs: split ? [pooled, split.boundary] : [pooled] });
  events.onStage?.(`running the frozen layers once per view: ${views} of each of ${train.count} training pictures, 1 of each of ${val.count} validation pictures`);
  installBatchNormGradient();
  const rng = createRng(loop.seed ^ 0xca5e);
  const [trainPooled, trainBoundary] = await cacheOutputs(extractor, train, tm.inputRange, views, loop.augment, rng, (n) => events.onFeatures?.('train', n, train.count));
  const [valPooled, valBoundary] = await cacheOutputs(extractor, val, tm.inputRange, 1, false, rng, (n) => events.onFeatures?.('val', n, val.count));

  const featureInput = tf.input({ shape: trainPooled.shape, name: 'features' });
  const headModel = tf.model({ inputs: featureInput, outputs: tm.head.apply(featureInput) as tf.SymbolicTensor });
  const headOpt = tf.train.adam(loop.lr);
  events.onStage?.(`head phase: up to ${loop.epochs} epochs on the cached features, backbone frozen`);
  const head = await fitLoop(headModel, headOpt, inferenceModeStep(headModel, headOpt, classes), cachedFeeder(trainPooled, classes), cachedFeeder(valPooled, classes), classes, { ...loop, phase: 'head' }, events);

  const elapsed = (Date.now() - t0) / 1000;
  const timeLeft = loop.timeLimitSeconds > 0 ? loop.timeLimitSeconds - elapsed : 0;
  if (open === 0 || head.stoppedBy === 'interrupted' || (loop.timeLimitSeconds > 0 && timeLeft <= 0)) {
    return { ...head, seconds: elapsed };
  }
  setFrozen(tm.base, t.freeze);
  const how = split ? 'on the cached input of the first of them' : 'running the whole network on every batch';
  events.onStage?.(`fine-tune phase: up to ${t.fineTuneEpochs} epochs, the backbone's last ${open} layers and the head at lr ${t.fineTuneLr}, ${how}`);
  const model = split ? split.top : tm.model;
  const opt = tf.train.adam(t.fineTuneLr);
  const fine = await fitLoop(
    model,
    opt,
    inferenceModeStep(model, opt, classes),
    split ? cachedFeeder(trainBoundary, classes) : imageFeeder(train, classes, tm.inputRange, loop.augment),
    split ? cachedFeeder(valBoundary, classes) : imageFeeder(val, classes, tm.inputRange),
    classes,
    { ...loop, epochs: t.fineTuneEpochs, lr: t.fineTuneLr, firstEpoch: head.history.length, bestSoFar: head.best, phase: 'fine-tune', timeLimitSeconds: loop.timeLimitSeconds > 0 ? timeLeft : 0, seed: loop.seed + 1 },
    events,
  );
  const history: EpochRecord[] = [...head.history, ...fine.history];
  return { history, best: fine.best, stoppedBy: fine.stoppedBy, seconds: (Date.now() - t0) / 1000 };
}
