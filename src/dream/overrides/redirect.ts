import tf = require('@tensorflow/tfjs');
import { hasPassKernel, REDIRECT_PASS, runPass } from '../../backend/band-pass.js';

/**
 * Lucid's redirected ReLU gradient. Early in an optimization most units of a deep layer are
 * below zero for every pixel, so ReLU passes no gradient and the dream stays grey. While
 * redirection is on, an example whose ordinary ReLU gradient is all zero gets the incoming
 * gradient passed through anyway, except where it would push an already negative unit lower
 * (or a relu6 unit already above 6 higher). Examples that do get gradient keep the true one.
 *
 * Redirection is an option of one forward pass (`probe.apply(x, { redirect })`), never a
 * switch: layers run through `overriddenActivation` (guided.ts), fused convolutions read the mode from
 * their own arguments, and a graph model's Relu kernels get `REDIRECTED_GRADIENTS` only for
 * the duration of its forward pass (scope.ts).
 */

/** An activation XNNPACK can clamp to inside a convolution, and whose gradient redirects. */
export type ClampActivation = 'relu' | 'relu6';

/** The activation's upper bound (relu: none). */
export const UPPER: Record<ClampActivation, number> = { relu: Infinity, relu6: 6 };

/** 1 for examples (first axis) whose gradient has any non-zero entry, else 0, broadcastable to `t`. */
function anyNonZeroPerExample(t: tf.Tensor): tf.Tensor {
  const batch = t.shape[0];
  const mask = t.reshape([batch, -1]).abs().max(1).greater(0).cast('float32');
  return mask.reshape([batch, ...t.shape.slice(1).map(() => 1)]);
}

/** Where a unit passes gradient, and where it sits at its lower or upper bound (bool tensors). */
interface Regions {
  inside: tf.Tensor;
  low: tf.Tensor;
  high?: tf.Tensor;
}

function redirect(dy: tf.Tensor, { inside, low, high }: Regions): tf.Tensor {
  const trueGrad = dy.mul(inside.cast('float32'));
  if (dy.rank < 2) return trueGrad;
  // Gradient descent moves x by -dy: dy > 0 pushes down, dy < 0 pushes up.
  let blocked = low.logicalAnd(dy.greater(0));
  if (high) blocked = blocked.logicalOr(high.logicalAnd(dy.less(0)));
  const passed = dy.mul(blocked.logicalNot().cast('float32'));
  const useTrue = anyNonZeroPerExample(trueGrad);
  return trueGrad.mul(useTrue).add(passed.mul(tf.sub(1, useTrue)));
}

/** The redirected gradient of relu (upper Infinity) or relu6 at input `x`. */
function redirectedFromInput(dy: tf.Tensor, x: tf.Tensor, upper: number): tf.Tensor {
  return tf.tidy(() => {
    const finite = upper !== Infinity;
    const inside = finite ? x.greater(0).logicalAnd(x.lessEqual(upper)) : x.greater(0);
    return redirect(dy, { inside, low: x.less(0), high: finite ? x.greater(upper) : undefined });
  });
}

/**
 * The same, read off the activation's output `y` (relu6 when `upper` is 6), for activations
 * whose input is never stored (fused into the convolution before them). A unit at a bound
 * counts as past it: y = 0 cannot tell x = 0 from x < 0.
 */
export function redirectedFromOutput(dy: tf.Tensor, y: tf.Tensor, upper = Infinity): tf.Tensor {
  // One pass (two for an example with no gradient yet) instead of some fifteen tf ops.
  if (dy.rank >= 2 && hasPassKernel(REDIRECT_PASS, dy, y)) return runPass(REDIRECT_PASS, dy, y, 0, upper);
  return tf.tidy(() => {
    const finite = upper !== Infinity;
    const inside = finite ? y.greater(0).logicalAnd(y.less(upper)) : y.greater(0);
    return redirect(dy, { inside, low: y.lessEqual(0), high: finite ? y.greaterEqual(upper) : undefined });
  });
}


/**
 * Relu and Relu6 gradients that redirect, from the saved input as tfjs's own do: a graph
 * model runs these kernels itself, so its pass registers these for as long as it runs (tfjs
 * binds a kernel's gradient when the kernel is recorded, so the backward pass keeps them).
 */
export const REDIRECTED_GRADIENTS: readonly tf.GradConfig[] = [
  { kernelName: 'Relu', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => redirectedFromInput(dy as tf.Tensor, x, Infinity) }) },
  { kernelName: 'Relu6', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => redirectedFromInput(dy as tf.Tensor, x, 6) }) },
];
