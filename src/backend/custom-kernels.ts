import tf = require('@tensorflow/tfjs');

/**
 * The plumbing of cnnviz's own tfjs kernels (band-pass.ts, bilinear-sample.ts,
 * fft-kernels.ts): the parts of the wasm and cpu backends they use, and registration.
 */

/** tfjs-backend-wasm, as our kernels use it: outputs allocated on its heap, views of tensors there. */
export interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
  disposeData(dataId: object): void;
}

/** The cpu backend, as our kernels' JavaScript loops use it. */
export interface CpuData {
  readSync(dataId: object): Float32Array | Int32Array;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** What tfjs hands a kernel function, with the inputs the kernel takes. */
export type KernelArgs<I extends object = Record<string, tf.TensorInfo>> = { inputs: I; attrs?: tf.NamedAttrMap; backend: unknown };

/**
 * Registers a kernel per backend, once per process however many copies of the calling module
 * load (dist/ beside src/ under jest).
 */
export function registerOnce(kernelName: string, byBackend: Record<string, (args: never) => tf.TensorInfo | tf.TensorInfo[]>): void {
  for (const [backendName, kernelFunc] of Object.entries(byBackend)) {
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}
