import tf = require('@tensorflow/tfjs');
import { replaceGradient } from './activation-gradients.js';

/**
 * tfjs's stock FusedBatchNorm gradient builds its input gradient with `tile` to full
 * activation size and eagerly computes (x - mean) and dy*scale even when only the input
 * gradient is wanted, as when the weights are fixed. On wasm that tile alone was over half of
 * a MobileNet backward pass. This is the same gradient, term for term, with broadcasting
 * instead of tiling and every term computed only when asked for.
 */
const MARK = Symbol.for('cnnviz.batchNormGradient');

type Marked = tf.GradConfig & { [MARK]?: boolean };

export const BATCH_NORM_GRADIENT: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved;
    const g = dy as tf.Tensor;
    const perChannel = mean.rank === 1;
    const axes = perChannel ? x.shape.slice(0, -1).map((_, i) => i) : [];
    const reduce = (t: tf.Tensor) => (perChannel ? t.sum(axes) : t).reshape(mean.shape);
    const rsqrtVar = () => tf.rsqrt(variance.add(varianceEpsilon));
    const scaleValue = () => (scale == null ? tf.scalar(1) : scale);
    return {
      x: () => g.mul(rsqrtVar().mul(scaleValue())).reshape(x.shape),
      mean: () => reduce(g.mul(rsqrtVar().mul(scaleValue()).neg())),
      variance: () => {
        const r = rsqrtVar();
        return reduce(x.sub(mean).mul(g).mul(r.mul(r).mul(r).mul(-0.5).mul(scaleValue())));
      },
      scale: () => reduce(g.mul(x.sub(mean).mul(rsqrtVar()))),
      offset: () => reduce(g),
    };
  },
};
(BATCH_NORM_GRADIENT as Marked)[MARK] = true;

/**
 * Install BATCH_NORM_GRADIENT for good (training a transfer model runs its frozen backbone's
 * batch norms many times). The numbers are tfjs's own, so nothing else changes.
 */
export function installBatchNormGradient(): void {
  const current = tf.getGradient('FusedBatchNorm') as Marked | undefined;
  if (!current || current[MARK]) return;
  replaceGradient(BATCH_NORM_GRADIENT);
}
