import tf = require('@tensorflow/tfjs');
import { installActivationGradients, replaceGradient } from '../backend/activation-gradients.js';
import { hasPassKernel, REDIRECT_PASS, runPass } from '../backend/band-pass.js';

/**
 * Lucid's redirected ReLU gradient. Early in an optimization most units of a deep layer are
 * below zero for every pixel, so ReLU passes no gradient and the dream stays grey. While
 * redirection is on, an example whose ordinary ReLU gradient is all zero gets the incoming
 * gradient passed through anyway, except where it would push an already negative unit lower
 * (or a relu6 unit already above 6 higher). Examples that do get gradient keep the true one.
 *
 * tfjs keeps one gradient per kernel, process-wide, so the override is installed once and
 * delegates to the original gradient whenever redirection is off.
 */
let redirecting = false;
let installed = false;

/** Turn redirection on or off (the render loop does this for its first 16 steps). */
export function setReluRedirect(on: boolean): void {
  installReluRedirect();
  redirecting = on;
}

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

/** The redirected gradient of relu (upper undefined) or relu6 at input `x`. */
function redirected(dy: tf.Tensor, x: tf.Tensor, upper?: number): tf.Tensor {
  const inside = upper === undefined ? x.greater(0) : x.greater(0).logicalAnd(x.lessEqual(upper));
  return redirect(dy, { inside, low: x.less(0), high: upper === undefined ? undefined : x.greater(upper) });
}

/** Whether the render loop has redirection on (for activations fused into a convolution). */
export function isRedirecting(): boolean {
  return redirecting;
}

/**
 * The same, read off the activation's output `y` (relu6 when `upper` is 6), for activations
 * fused into the convolution before them, whose input is never stored. A unit at a bound
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

function install(kernelName: 'Relu' | 'Relu6', upper?: number): void {
  const original = tf.getGradient(kernelName);
  if (!original) return;
  replaceGradient({
    kernelName,
    inputsToSave: original.inputsToSave,
    outputsToSave: original.outputsToSave,
    gradFunc: (dy, saved, attrs) => {
      if (!redirecting) return original.gradFunc(dy, saved, attrs);
      const [x] = saved;
      return { x: () => redirected(dy as tf.Tensor, x, upper) };
    },
  });
}

export function installReluRedirect(): void {
  if (installed) return;
  installed = true;
  // Wrap the fast activation gradients, installed first so they never replace this.
  installActivationGradients();
  install('Relu');
  install('Relu6', 6);
}
