import type * as tf from '@tensorflow/tfjs';

/** Kernels beyond the conv gradients that training or visualisation needs on wasm. */
export function extraWasmKernels(): Record<string, (args: { inputs: Record<string, tf.Tensor>; attrs: Record<string, unknown> }) => tf.Tensor> {
  return {};
}
