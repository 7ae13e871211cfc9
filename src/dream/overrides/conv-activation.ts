import tf = require('@tensorflow/tfjs');
import { reluGradientFromOutput, type ReluGradient } from './guided.js';
import { UPPER, type ClampActivation } from './redirect.js';

export interface ConvActivation {
  x: tf.Tensor4D;
  filter: tf.Tensor4D;
  bias?: tf.Tensor1D;
  depthwise: boolean;
  strides: [number, number] | number;
  pad: 'same' | 'valid';
  dilations: [number, number] | number;
  activation?: ClampActivation;
  /** The activation's gradient: the true one (default), Lucid's redirected one (redirect.ts) or guided backprop's (guided.ts). */
  relu?: ReluGradient;
}

/**
 * conv (or depthwise conv) + bias + relu/relu6 as one fused kernel, differentiable in `x`
 * only: the filter and bias are constants while a dream runs. Forward, the bias and the clamp
 * cost nothing extra. Backward, the activation's mask is read off the saved output in one
 * pass (bandPass), then the conv's input-gradient kernel runs; tfjs's own fused gradient
 * cannot do relu6 and sums dy for the bias whether or not anyone asks.
 * The mask is 0 < y < upper, so a unit exactly at 6 gets no gradient (tfjs's unfused relu6
 * gives it 1): a set of measure zero.
 */
export function convActivation(c: ConvActivation): tf.Tensor4D {
  const { filter, bias, depthwise, strides, pad, dilations, activation, relu = 'true' } = c;
  const forward = tf.customGrad((...args) => {
    const x = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    // The kernel itself: tf.fused.* falls back to conv, add and clamp as three passes whenever
    // a gradient is being recorded, which inside a dream step is always.
    const attrs = { strides, pad, dilations, dataFormat: 'NHWC', activation: activation ?? 'linear' } as unknown as tf.NamedAttrMap;
    const inputs: tf.NamedTensorMap = bias ? { x, filter, bias } : { x, filter };
    const y = tf.engine().runKernel(depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D', inputs, attrs) as tf.Tensor4D;
    save([y]);
    const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor4D;
      const upper = activation && UPPER[activation];
      const dz = upper === undefined ? g : reluGradientFromOutput(relu, g, saved[0], upper);
      const attrs = { strides, pad, dilations, dataFormat: 'NHWC', inputShape: x.shape } as unknown as tf.NamedAttrMap;
      const kernel = depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput';
      return [tf.engine().runKernel(kernel, { dy: dz, filter }, attrs) as tf.Tensor4D];
    };
    return { value: y, gradFunc };
  });
  return forward(c.x) as tf.Tensor4D;
}
