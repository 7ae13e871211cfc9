import * as tf from '@tensorflow/tfjs';

type Kernel = (args: { inputs: Record<string, tf.Tensor>; attrs: Record<string, unknown> }) => tf.Tensor;

/**
 * UnsortedSegmentSum is the gradient of tf.gather (embeddings, index-based crops), and
 * wasm has no kernel for it. A one-hot matrix product is exact for float32 sums and runs
 * on XNNPACK: [segments, n] x [n, rest].
 */
const unsortedSegmentSum: Kernel = ({ inputs, attrs }) =>
  tf.tidy(() => {
    const { x, segmentIds } = inputs;
    const numSegments = attrs.numSegments as number;
    const n = segmentIds.size;
    const rest = x.shape.slice(segmentIds.rank);
    const flat = tf.reshape(tf.cast(x, 'float32'), [n, rest.reduce((a, b) => a * b, 1)]);
    const oneHot = tf.oneHot(tf.cast(tf.reshape(segmentIds, [n]), 'int32'), numSegments);
    const sums = tf.matMul(oneHot, flat, true, false);
    return tf.cast(tf.reshape(sums, [numSegments, ...rest]), x.dtype);
  });

/** Kernels beyond the conv gradients that training or visualisation needs on wasm. */
export function extraWasmKernels(): Record<string, Kernel> {
  return { UnsortedSegmentSum: unsortedSegmentSum };
}
