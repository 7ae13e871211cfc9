import tf = require('@tensorflow/tfjs');
import { bandPass } from '../../backend/band-pass.js';
import { UPPER, redirectedFromOutput, type ClampActivation } from './redirect.js';

/**
 * Guided backpropagation (Springenberg et al. 2015): a ReLU passes gradient back only where
 * its unit was active (the true gradient) AND the incoming gradient is positive. Like Lucid's
 * redirected ReLU (redirect.ts), it is an option of one forward pass (`probe.apply(x, {
 * relu: 'guided' })`): layers run through `guidedActivation`, fused convolutions read the
 * mode from their own arguments, and a graph model's Relu kernels get `GUIDED_GRADIENTS`
 * for the duration of its forward pass only (scope.ts).
 */

/** Which gradient a pass gives its ReLU and ReLU6 units: the true one, Lucid's redirected one, or guided backprop's. */
export type ReluGradient = 'true' | 'redirect' | 'guided';

/** Guided gradient read off the activation's output `y` (its upper bound `upper`, Infinity for relu). */
export function guidedFromOutput(dy: tf.Tensor, y: tf.Tensor, upper = Infinity): tf.Tensor {
  return tf.tidy(() => bandPass(tf.relu(dy), y, 0, upper));
}

/** The ReLU/ReLU6 gradient of `mode` read off the output: what fused kernels and activation layers use. */
export function reluGradientFromOutput(mode: ReluGradient, dy: tf.Tensor, y: tf.Tensor, upper = Infinity): tf.Tensor {
  if (mode === 'redirect') return redirectedFromOutput(dy, y, upper);
  if (mode === 'guided') return guidedFromOutput(dy, y, upper);
  return bandPass(dy, y, 0, upper);
}

/** relu or relu6 of `x` whose gradient is `mode`'s (what a ReLU layer runs as while redirecting or guiding). */
export function overriddenActivation(x: tf.Tensor, kind: ClampActivation, mode: ReluGradient): tf.Tensor {
  const upper = UPPER[kind];
  const forward = tf.customGrad((...args) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const y = kind === 'relu' ? tf.relu(input) : tf.relu6(input);
    save([y]);
    return { value: y, gradFunc: (dy: tf.Tensor | tf.Tensor[], [saved]: tf.Tensor[]) => [reluGradientFromOutput(mode, dy as tf.Tensor, saved, upper)] };
  });
  return forward(x) as tf.Tensor;
}

/** Guided from the saved input, as tfjs's own Relu/Relu6 gradients read it. */
function guidedFromInput(dy: tf.Tensor, x: tf.Tensor, upper: number): tf.Tensor {
  return tf.tidy(() => {
    const inside = upper === Infinity ? x.greater(0) : x.greater(0).logicalAnd(x.lessEqual(upper));
    return tf.relu(dy).mul(inside.cast('float32'));
  });
}

/** Relu and Relu6 gradients that guide: registered while a graph model (or a layer run as itself) computes a guided pass. */
export const GUIDED_GRADIENTS: readonly tf.GradConfig[] = [
  { kernelName: 'Relu', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => guidedFromInput(dy as tf.Tensor, x, Infinity) }) },
  { kernelName: 'Relu6', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => guidedFromInput(dy as tf.Tensor, x, 6) }) },
];
