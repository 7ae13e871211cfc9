import tf = require('@tensorflow/tfjs');
import { applyActivation } from './activation.js';
import { type Kernel } from './filters.js';
import { windowGeometry, type Geometry, type PaddingSpec } from './geometry.js';
import { type Plane } from './plane.js';

export interface ConvolveOptions {
  stride?: number;
  padding?: PaddingSpec;
  /** `none` or an activation name (relu, sigmoid, ...). */
  activation?: string;
  /** Refuse strides that leave rows or columns uncovered instead of dropping them. */
  exact?: boolean;
}

export interface ConvolveResult {
  output: Plane;
  geometry: Geometry;
}

/**
 * Slide one kernel over every channel of `input` separately (the tutorial's grayscale
 * convolution, or per-channel with --rgb): one tf.conv2d with the channels moved into the
 * batch axis, explicit zero padding so 'same' and numbers mean exactly what the formula says.
 */
export function convolve(input: Plane, kernel: Kernel, opts: ConvolveOptions = {}): ConvolveResult {
  const stride = opts.stride ?? 1;
  const geometry = windowGeometry(input, kernel, stride, opts.padding ?? 0, opts.exact);
  const { width: gw, height: gh } = geometry;
  const values = tf.tidy(() => {
    const x = tf.tensor4d(input.values, [1, input.height, input.width, input.channels]).transpose([3, 1, 2, 0]) as tf.Tensor4D;
    const k = tf.tensor4d(kernel.values, [kernel.rows, kernel.cols, 1, 1]);
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [gh.padBefore, gh.padAfter], [gw.padBefore, gw.padAfter], [0, 0]];
    return tf.conv2d(x, k, stride, pad).transpose([3, 1, 2, 0]);
  });
  const out = new Float32Array(values.dataSync());
  values.dispose();
  applyActivation(out, opts.activation ?? 'none');
  return { output: { values: out, width: gw.output, height: gh.output, channels: input.channels }, geometry };
}
