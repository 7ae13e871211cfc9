import tf = require('@tensorflow/tfjs');
import { registerOnce, type KernelArgs, type WasmHeap } from './custom-kernels.js';
import { heapOffset, simdKernels } from './simd/kernels.js';

/**
 * A strided convolution's output gradient spread onto the input grid: dy [n, h, w, c] on every
 * sh-th row and sw-th column of [n, h sh, w sw, c], zeros between (and stride - 1 trailing
 * rows and columns). As tf ops it is a pad of a 6-D reshape, which wasm runs as a general
 * strided loop: 0.5 ms for the [8, 37, 37, 16] gradient of a native-scale MobileNet dream
 * step. On wasm it is our kernel (simd/kernels.wat): a fill and a copy per pixel.
 */
export const ZERO_DILATE = 'CnnvizZeroDilate';

registerOnce(ZERO_DILATE, {
  wasm: ({ inputs: { x }, attrs, backend }: KernelArgs<{ x: tf.TensorInfo }>) => {
    const b = backend as WasmHeap;
    const { sh, sw } = attrs as unknown as { sh: number; sw: number };
    const [n, h, w, c] = x.shape;
    const out = b.makeOutput([n, h * sh, w * sw, c], x.dtype);
    // zeroDilate only runs this where simdKernels loads.
    simdKernels(b)!.zero_dilate(heapOffset(b, out), heapOffset(b, x), n, h, w, c, sh, sw);
    return out;
  },
});

/**
 * Stride - 1 zeros between the rows and columns of `dy`, plus stride - 1 trailing ones
 * (cheaper to leave than to slice: the caller's crop/pad accounts for them).
 */
export function zeroDilate(dy: tf.Tensor4D, [sh, sw]: [number, number]): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const kernel = (dy.dtype === 'float32' || dy.dtype === 'int32') && tf.getKernel(ZERO_DILATE, tf.getBackend()) !== undefined && simdKernels(tf.backend()) !== null;
  if (kernel) return tf.engine().runKernel(ZERO_DILATE, { x: dy }, { sh, sw } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  const spread = tf.pad(tf.reshape(dy, [n, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.reshape(spread, [n, h * sh, w * sw, c]);
}
