import tf = require('@tensorflow/tfjs');
import { BATCH_NORM_GRADIENT } from '../../backend/batchnorm-gradient.js';
import { derivedFrom } from '../../backend/derived-weights.js';

/**
 * A BatchNormalization layer while a dream runs. Its weights are fixed, so at inference it
 * is a per-channel affine map x * s + o, s = gamma / sqrt(variance + epsilon) and
 * o = beta - mean * s: two broadcast ops whose gradient (dy * s) needs no FusedBatchNorm
 * gradient, and which also runs a batch norm without scale (InceptionV3's), whose gradient
 * tfjs 4.22 cannot take (it saves the missing scale for the backward pass).
 */

type Layer = tf.layers.Layer;

/** What a batch norm's weights mean, read once from its config. */
export interface BatchNormSpec {
  layer: Layer;
  epsilon: number;
  scale: boolean;
  center: boolean;
  /** The normalized axis, as configured (negative counts from the end). */
  axis: number;
}

export function batchNormSpec(layer: Layer): BatchNormSpec {
  const cfg = layer.getConfig() as { epsilon: number; scale: boolean; center: boolean; axis?: number };
  return { layer, epsilon: cfg.epsilon, scale: cfg.scale, center: cfg.center, axis: cfg.axis ?? -1 };
}

/**
 * s and o of the affine map, [channels] each, computed once per set of weights (new weights,
 * as training or loading sets them, have new buffers and so a new entry). Owned by the
 * derived-weights cache: callers must not dispose them.
 */
export function batchNormAffine(spec: BatchNormSpec): { scale: tf.Tensor1D; offset: tf.Tensor1D } {
  const weights = spec.layer.getWeights();
  const recipe = `batch-norm-affine:${spec.epsilon}`;
  return {
    scale: derivedFrom(weights, `${recipe}:scale`, () => affineOf(spec, weights).scale) as tf.Tensor1D,
    offset: derivedFrom(weights, `${recipe}:offset`, () => affineOf(spec, weights).offset) as tf.Tensor1D,
  };
}

/** s and o from the layer's weights (`weights`, as getWeights gives them), as new tensors. */
export function affineOf(spec: BatchNormSpec, weights: tf.Tensor[]): { scale: tf.Tensor1D; offset: tf.Tensor1D } {
  // Keras orders a BatchNormalization's weights gamma, beta, moving mean, moving variance,
  // leaving out gamma without `scale` and beta without `center`.
  const w = [...weights];
  const gamma = spec.scale ? w.shift() : undefined;
  const beta = spec.center ? w.shift() : undefined;
  const [mean, variance] = w;
  let s = tf.rsqrt(tf.add(variance, spec.epsilon));
  if (gamma) s = tf.mul(s, gamma);
  let o = tf.neg(tf.mul(mean, s));
  if (beta) o = tf.add(o, beta);
  return { scale: s as tf.Tensor1D, offset: o as tf.Tensor1D };
}

/** The layer's inference output for `x`, as the affine map. */
export function affineBatchNorm(spec: BatchNormSpec, x: tf.Tensor): tf.Tensor {
  const { scale, offset } = batchNormAffine(spec);
  const axis = spec.axis < 0 ? x.rank + spec.axis : spec.axis;
  if (axis === x.rank - 1) return tf.add(tf.mul(x, scale), offset);
  // Channels on another axis: broadcast along the axes after it.
  const shape = [scale.shape[0], ...Array<number>(x.rank - 1 - axis).fill(1)];
  return tf.add(tf.mul(x, tf.reshape(scale, shape)), tf.reshape(offset, shape));
}

/**
 * A graph model runs its FusedBatchNorm kernels itself: for the duration of its forward
 * pass (scope.ts) they get tfjs's gradient computed without tiling (backend/batchnorm-gradient.ts).
 */
export const GRAPH_BATCH_NORM_GRADIENT: tf.GradConfig = BATCH_NORM_GRADIENT;
