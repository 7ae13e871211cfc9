import tf = require('@tensorflow/tfjs');
import { activationGradFromOutput } from '../../backend/activation-pass.js';
import { reluGradientFromOutput, type ReluGradient } from './guided.js';
import { UPPER, type ClampActivation } from './redirect.js';

/**
 * An activation a fused convolution ends in: relu and relu6 clamp inside the kernel (and
 * redirect), leaky relu, elu and sigmoid are the kernel's own activations with their gradient
 * read off its output (backend/activation-pass.ts), and swish runs after a linear kernel with
 * its gradient from the pre-activation it keeps.
 */
export type ChainActivation = { kind: ClampActivation } | { kind: 'leakyrelu'; alpha: number } | { kind: 'elu' | 'sigmoid' | 'swish' };

export interface ConvActivation {
  x: tf.Tensor4D;
  filter: tf.Tensor4D;
  bias?: tf.Tensor1D;
  depthwise: boolean;
  strides: [number, number] | number;
  pad: 'same' | 'valid';
  dilations: [number, number] | number;
  activation?: ChainActivation;
  /** A relu or relu6 activation's gradient: the true one (default), Lucid's redirected one (redirect.ts) or guided backprop's (guided.ts). */
  relu?: ReluGradient;
}

/** The gradient of `activation` given dy and what the forward pass saved (its output; swish: its input). */
function activationGradient(activation: ChainActivation | undefined, relu: ReluGradient, dy: tf.Tensor4D, saved: tf.Tensor): tf.Tensor4D {
  if (!activation) return dy;
  switch (activation.kind) {
    case 'relu':
    case 'relu6': {
      const upper = UPPER[activation.kind];
      return reluGradientFromOutput(relu, dy, saved, upper) as tf.Tensor4D;
    }
    case 'leakyrelu':
      return activationGradFromOutput(dy, saved, 'leakyrelu', activation.alpha) as tf.Tensor4D;
    case 'swish':
      // swish(z) = z s(z): the gradient s + z s (1 - s), from the kept pre-activation z.
      return tf.tidy(() => {
        const s = tf.sigmoid(saved);
        return tf.mul(dy, tf.add(s, tf.mul(tf.mul(saved, s), tf.sub(1, s))));
      });
    default:
      return activationGradFromOutput(dy, saved, activation.kind) as tf.Tensor4D;
  }
}

/**
 * conv (or depthwise conv) + bias + activation as one fused kernel, differentiable in `x`
 * only: the filter and bias are constants while a dream runs. Forward, the bias and the
 * activation cost nothing extra (swish, which no kernel has, is two passes after a linear
 * one). Backward, the activation's gradient is read off the saved output in one pass
 * (bandPass for relu/relu6, activationGradFromOutput for leaky relu, elu and sigmoid), then
 * the conv's input-gradient kernel runs; tfjs's own fused gradient cannot do relu6 or
 * sigmoid, and sums dy for the bias whether or not anyone asks.
 * The relu6 mask is 0 < y < upper, so a unit exactly at 6 gets no gradient (tfjs's unfused
 * relu6 gives it 1): a set of measure zero.
 */
export function convActivation(c: ConvActivation): tf.Tensor4D {
  const { filter, bias, depthwise, strides, pad, dilations, activation, relu = 'true' } = c;
  const swish = activation?.kind === 'swish';
  const forward = tf.customGrad((...args) => {
    const x = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    // The kernel itself: tf.fused.* falls back to conv, add and activation as three passes
    // whenever a gradient is being recorded, which inside a dream step is always.
    const fused = !activation || swish ? 'linear' : activation.kind;
    const leakyreluAlpha = activation?.kind === 'leakyrelu' ? activation.alpha : undefined;
    const attrs = { strides, pad, dilations, dataFormat: 'NHWC', activation: fused, leakyreluAlpha } as unknown as tf.NamedAttrMap;
    const inputs: tf.NamedTensorMap = bias ? { x, filter, bias } : { x, filter };
    const z = tf.engine().runKernel(depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D', inputs, attrs) as tf.Tensor4D;
    // tfjs's swish: sigmoid(z) z.
    const y = swish ? tf.mul(tf.sigmoid(z), z) : z;
    save([z]);
    const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const dz = activationGradient(activation, relu, dy as tf.Tensor4D, saved[0]);
      const attrs = { strides, pad, dilations, dataFormat: 'NHWC', inputShape: x.shape } as unknown as tf.NamedAttrMap;
      const kernel = depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput';
      return [tf.engine().runKernel(kernel, { dy: dz, filter }, attrs) as tf.Tensor4D];
    };
    return { value: y, gradFunc };
  });
  return forward(c.x) as tf.Tensor4D;
}
