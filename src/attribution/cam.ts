import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { type LoadedModel } from '../model/load.js';
import { checkClassChoice, chooseClasses, classLabel, isOneUnitHead, type ClassChoice } from './classes.js';
import { firstComponentProjection } from './eigen.js';
import { layerGradientPass, scorePass } from './forward.js';
import { camLayer } from './layer.js';
import { type AttributionMap } from './map.js';
import { readBack } from '../backend/read-back.js';

/**
 * Class activation maps: a weighted sum of one layer's feature maps, at that layer's
 * resolution (resizeMap lays it over the photo). With A the activations [h, w, c] and
 * g = d score / d A:
 *  - gradcam (Selvaraju et al. 2017): relu(sum_k mean_ij(g_k) A_k);
 *  - gradcam++ (Chattopadhay et al. 2018), in the closed form pytorch-grad-cam uses:
 *    alpha = g^2 / (2 g^2 + sum_ij(A_k) g^3), weights sum_ij(alpha relu(g));
 *  - layercam (Jiang et al. 2021): relu(sum_k relu(g_k) A_k), position by position;
 *  - scorecam (Wang et al. 2020): each channel, upsampled and scaled to [0, 1], masks the
 *    photo (towards the middle of the input range); its weight is the class's probability
 *    for the masked photo; no gradients;
 *  - eigencam (Muhammad & Yeasin 2020): the first principal component of A; class-agnostic.
 */

export const CAM_METHODS = ['gradcam', 'gradcam++', 'layercam', 'scorecam', 'eigencam'] as const;
export type CamMethod = (typeof CAM_METHODS)[number];

export interface CamOptions extends ClassChoice {
  method?: CamMethod;
  /** The layer: an index or a name (default: defaultCamLayer). */
  layer?: string | number;
  /** Score-CAM: masked photos per forward pass (default 32). */
  batch?: number;
}

/** A CAM explainer for one model and options: the layer resolved, the passes built once. */
export interface Cam {
  layer: number;
  method: CamMethod;
  /** One map per chosen class for the image x [1, h, w, c] in the model's input range. */
  explain(x: tf.Tensor4D): AttributionMap[];
}

function checkMethod(method: string): CamMethod {
  if (!(CAM_METHODS as readonly string[]).includes(method)) throw new UsageError(`unknown CAM method '${method}': use ${CAM_METHODS.join(', ')}`);
  return method as CamMethod;
}

/** sum_k w_k A_k at each position, then relu. */
function weightedSum(acts: Float32Array, positions: number, channels: number, weights: ArrayLike<number>): Float32Array {
  const out = new Float32Array(positions);
  for (let p = 0; p < positions; p++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += weights[c] * acts[p * channels + c];
    out[p] = Math.max(0, s);
  }
  return out;
}

/** The map of a gradient method from the activations and one class's gradient. */
export function gradientCam(method: 'gradcam' | 'gradcam++' | 'layercam', acts: Float32Array, grads: Float32Array, positions: number, channels: number): Float32Array {
  if (method === 'layercam') {
    const out = new Float32Array(positions);
    for (let p = 0; p < positions; p++) {
      let s = 0;
      for (let c = 0; c < channels; c++) s += Math.max(0, grads[p * channels + c]) * acts[p * channels + c];
      out[p] = Math.max(0, s);
    }
    return out;
  }
  const weights = new Float64Array(channels);
  if (method === 'gradcam') {
    for (let p = 0; p < positions; p++) for (let c = 0; c < channels; c++) weights[c] += grads[p * channels + c] / positions;
    return weightedSum(acts, positions, channels, weights);
  }
  const actSum = new Float64Array(channels);
  for (let p = 0; p < positions; p++) for (let c = 0; c < channels; c++) actSum[c] += acts[p * channels + c];
  for (let p = 0; p < positions; p++) {
    for (let c = 0; c < channels; c++) {
      const g = grads[p * channels + c];
      const g2 = g * g;
      const denom = 2 * g2 + actSum[c] * g2 * g;
      const alpha = g !== 0 && denom !== 0 ? g2 / denom : 0;
      weights[c] += alpha * Math.max(0, g);
    }
  }
  return weightedSum(acts, positions, channels, weights);
}

/** Class probabilities from scores [B, n]: softmax, or the sigmoid of each of a one-unit head's two scores (-z, z). */
export function probabilities(scores: tf.Tensor2D, oneUnit: boolean): tf.Tensor2D {
  return oneUnit ? tf.sigmoid(scores) : tf.softmax(scores);
}

/** Score-CAM weights [classes.length][c]: each class's probability with the photo masked by each channel. */
function scoreCamWeights(loaded: LoadedModel, scores: (x: tf.Tensor4D) => tf.Tensor2D, x: tf.Tensor4D, acts: Float32Array, shape: [number, number, number], classes: number[], batch: number): Float32Array[] {
  const [h, w, c] = shape;
  const [, H, W] = x.shape;
  const [lo, hi] = loaded.meta.inputRange;
  const base = (lo + hi) / 2;
  const oneUnit = isOneUnitHead(loaded);
  const weights = classes.map(() => new Float32Array(c));
  const picked = tf.tensor1d(classes, 'int32');
  const maps = tf.tidy(() => {
    // [c, h, w, 1] → [c, H, W, 1], each scaled to [0, 1] (a flat channel masks everything out).
    const a = tf.tensor4d(acts, [1, h, w, c]).transpose([3, 1, 2, 0]) as tf.Tensor4D;
    const up = tf.image.resizeBilinear(a, [H, W], false, true);
    const min = up.min([1, 2, 3], true);
    const max = up.max([1, 2, 3], true);
    const range = max.sub(min);
    return tf.where(range.greater(0), up.sub(min).div(range.maximum(1e-12)), tf.zerosLike(up)) as tf.Tensor4D;
  });
  for (let start = 0; start < c; start += batch) {
    const n = Math.min(batch, c - start);
    const probs = tf.tidy(() => {
      const m = maps.slice([start], [n]);
      const masked = x.sub(base).mul(m).add(base) as tf.Tensor4D;
      return probabilities(scores(masked), oneUnit).gather(picked, 1).dataSync();
    });
    for (let i = 0; i < n; i++) classes.forEach((_, j) => (weights[j][start + i] = probs[i * classes.length + j]));
  }
  tf.dispose([maps, picked]);
  return weights;
}

/** Build a CAM explainer: checks the method, layer and class choice (UsageError) before any image. */
export function createCam(loaded: LoadedModel, opts: CamOptions = {}): Cam {
  const method = checkMethod(opts.method ?? 'gradcam');
  checkClassChoice(loaded, opts);
  const layer = camLayer(loaded, opts.layer);
  const pass = layerGradientPass(loaded, layer);
  const scores = scorePass(loaded);
  const usesGradients = method === 'gradcam' || method === 'gradcam++' || method === 'layercam';
  const explain = (x: tf.Tensor4D): AttributionMap[] => {
    const explicit = opts.class !== undefined;
    // Which classes: named ones need no pass, the top K need the scores first.
    let classes = explicit ? chooseClasses(loaded, opts, []) : undefined;
    if (!classes) {
      const s = readBack(() => scores(x));
      classes = chooseClasses(loaded, opts, s);
    }
    const r = pass(x, usesGradients ? classes : []);
    const [h, w, c] = r.shape;
    const positions = h * w;
    let maps: Float32Array[];
    if (usesGradients) maps = r.gradients.map((g) => gradientCam(method as 'gradcam', r.activations, g, positions, c));
    else if (method === 'scorecam') maps = scoreCamWeights(loaded, scores, x, r.activations, r.shape, classes, opts.batch ?? 32).map((wts) => weightedSum(r.activations, positions, c, wts));
    else {
      const m = firstComponentProjection(r.activations, positions, c).map((v) => Math.max(0, v));
      maps = classes.map(() => m);
    }
    return maps.map((map, j) => ({ map, width: w, height: h, class: classes![j], label: classLabel(loaded, classes![j]), score: r.scores[classes![j]], method }));
  };
  return { layer, method, explain };
}

/** One CAM for the image x [1, h, w, c]: the first chosen class's map (see createCam for several images or classes). */
export function camMap(loaded: LoadedModel, x: tf.Tensor4D, opts: CamOptions = {}): AttributionMap {
  return createCam(loaded, opts).explain(x)[0];
}
