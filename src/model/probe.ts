import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { readImage, type Fit } from '../image/io.js';
import { type Raster } from '../image/raster.js';
import { type FeatureMaps } from '../image/feature-grid.js';
import { probeGraphNodes } from './graph.js';
import { type LoadedModel } from './load.js';
import { type InputRange } from './meta.js';

/** Map 8-bit samples into the model's input range: the step most visualization bugs hide in. */
export function rasterToTensor(img: Raster, range: InputRange): tf.Tensor4D {
  const [lo, hi] = range;
  return tf.tidy(() =>
    tf.tensor4d(Float32Array.from(img.data), [1, img.height, img.width, img.channels]).mul((hi - lo) / 255).add(lo),
  );
}

export interface InputOptions {
  fit?: Fit;
  /** Side length for models that take any spatial size. */
  size?: number;
  /** Largest image accepted, in megapixels (--max-pixels). */
  maxMegapixels?: number;
  /** Feed the image at its own size (longest side at most NATIVE_MAX_SIDE), not resized to the model's: for models that run at any size (cam --input-scale native). */
  native?: boolean;
}

/** The longest side an image is fed at with `native`: the network's work grows with the area. */
export const NATIVE_MAX_SIDE = 1024;

/** The spatial size an image is resized to for this model. */
export function modelInputSize(loaded: LoadedModel, opts: InputOptions = {}): [number, number] | undefined {
  const [h, w] = loaded.inputShape;
  if (h != null && w != null) return [h, w];
  if (opts.size) return [opts.size, opts.size];
  return loaded.meta.inputSize;
}

/** The channel count images are converted to; a model that takes neither 1 nor 3 is refused. */
export function checkImageChannels(loaded: LoadedModel): 1 | 3 {
  const channels = loaded.inputShape[2];
  if (channels !== 1 && channels !== 3) {
    throw new UsageError(`model takes ${channels}-channel input: cnnviz feeds images only to 1- or 3-channel models`);
  }
  return channels;
}

/**
 * Decode, convert and resize an image exactly as the model expects it, still as 8-bit samples:
 * the part of loadModelInput that needs no tensor (`index` decodes on the main thread and
 * computes in workers).
 */
export async function loadModelRaster(loaded: LoadedModel, source: string, opts: InputOptions = {}): Promise<Raster> {
  const channels = checkImageChannels(loaded);
  const size = opts.native ? undefined : modelInputSize(loaded, opts);
  return readImage(source, { channels, size, fit: opts.fit, maxSide: opts.native ? NATIVE_MAX_SIDE : 512, maxMegapixels: opts.maxMegapixels });
}

/** Decode, convert, resize and scale an image exactly as the model expects it. */
export async function loadModelInput(loaded: LoadedModel, source: string, opts: InputOptions = {}): Promise<{ raster: Raster; tensor: tf.Tensor4D }> {
  const raster = await loadModelRaster(loaded, source, opts);
  return { raster, tensor: rasterToTensor(raster, loaded.meta.inputRange) };
}

const probeCache = new WeakMap<LoadedModel, Map<string, tf.LayersModel>>();

/**
 * Run the model once and return the outputs of the given layers (and, when asked, the model's
 * final output) from that single pass: one multi-output model, never one pass per layer.
 */
export function probeActivations(loaded: LoadedModel, input: tf.Tensor4D, indices: number[], withFinal = false): { activations: tf.Tensor[]; final?: tf.Tensor } {
  if (loaded.graphModel) return probeGraphNodes(loaded, input, indices, withFinal);
  const { graph } = loaded;
  const symbolic = indices.map((i) => graph.layers[i].output);
  if (withFinal) symbolic.push(graph.outputs[0]);
  // A model may not list the same tensor twice (the final output is often the last layer's), nor
  // its own input (an InputLayer's "activation"), so probe the distinct non-input tensors.
  const isInput = (s: tf.SymbolicTensor) => graph.inputs.some((t) => t.id === s.id);
  const distinct = [...new Map(symbolic.filter((s) => !isInput(s)).map((s) => [s.id, s])).values()];
  const key = distinct.map((s) => s.id).join(',');
  let models = probeCache.get(loaded);
  if (!models) probeCache.set(loaded, (models = new Map()));
  let probe = models.get(key);
  if (!probe && distinct.length > 0) {
    probe = tf.model({ inputs: graph.inputs, outputs: distinct });
    models.set(key, probe);
  }
  const computed = probe ? probe.predict(input) : [];
  const byId = new Map<number, tf.Tensor>();
  (Array.isArray(computed) ? computed : [computed]).forEach((t, j) => byId.set(distinct[j].id, t));
  // Each caller gets its own tensor to dispose, even where two names share one.
  const seen = new Set<number>();
  const all = symbolic.map((s) => {
    if (isInput(s)) return input.clone();
    const t = byId.get(s.id)!;
    if (seen.has(s.id)) return t.clone();
    seen.add(s.id);
    return t;
  });
  return withFinal ? { activations: all.slice(0, -1), final: all[all.length - 1] } : { activations: all };
}

export interface Prediction {
  index: number;
  label: string;
  probability: number;
}

/**
 * Top-k classes from a classifier output. Scores that don't already look like probabilities
 * (logits) go through softmax; a single sigmoid unit reads as P(second label).
 */
export function topPredictions(output: tf.Tensor, labels: string[] | undefined, k = 5): Prediction[] {
  const values = Array.from(output.dataSync());
  let probs: number[];
  if (values.length === 1) {
    probs = [1 - values[0], values[0]];
  } else {
    const sum = values.reduce((a, b) => a + b, 0);
    const isProb = values.every((v) => v >= 0 && v <= 1) && Math.abs(sum - 1) < 1e-3;
    probs = isProb ? values : tf.tidy(() => Array.from(tf.softmax(tf.tensor1d(values)).dataSync()));
  }
  return probs
    .map((probability, index) => ({ index, label: labels?.[index] ?? `class ${index}`, probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}

/** A model "ends in a classifier" when its final output is a vector whose length matches its labels. */
export function isClassifier(loaded: LoadedModel): boolean {
  const shape = loaded.graph.outputs[0].shape;
  const n = shape[shape.length - 1];
  const labels = loaded.meta.labels;
  return shape.length === 2 && !!labels && (n === labels.length || (n === 1 && labels.length === 2));
}

export interface LayerActivation {
  index: number;
  name: string;
  /** Output shape without the batch axis. */
  shape: number[];
  maps: FeatureMaps;
}

/** Activations of the given layers for one input, read back to plain arrays in one pass. */
export function layerActivations(loaded: LoadedModel, input: tf.Tensor4D, indices: number[]): { layers: LayerActivation[]; final?: tf.Tensor } {
  const { activations, final } = probeActivations(loaded, input, indices, isClassifier(loaded));
  const layers = activations.map((t, j) => {
    const info = loaded.graph.layers[indices[j]];
    const shape = t.shape.slice(1);
    const values = t.dataSync() as Float32Array;
    t.dispose();
    return { index: info.index, name: info.name, shape, maps: { values, shape } };
  });
  return { layers, final };
}
