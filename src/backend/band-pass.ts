import * as tf from '@tensorflow/tfjs';

/**
 * dy where lo < y < hi, else 0: the gradient of a clamping activation read off its output
 * (relu: (0, ∞), relu6: (0, 6)). One pass over the two buffers; as tf ops the same mask is
 * four or five passes (step, sub, step, sub, mul), and after every convolution of a MobileNet
 * those passes cost more than the convolution's own input gradient.
 */
export const BAND_PASS = 'CnnvizBandPass';

interface BandAttrs {
  lo: number;
  hi: number;
}

function pass(out: Float32Array, dy: Float32Array, y: Float32Array, { lo, hi }: BandAttrs): void {
  // Branch-free: the mask is noise to a branch predictor, and mispredictions cost 4x here.
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    out[i] = dy[i] * (Number(v > lo) & Number(v < hi));
  }
}

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

interface CpuBackend {
  readSync(dataId: object): Float32Array;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

type Args = { inputs: { dy: tf.TensorInfo; y: tf.TensorInfo }; attrs?: tf.NamedAttrMap; backend: unknown };

const kernels: Record<string, (args: Args) => tf.TensorInfo> = {
  // In place on wasm's heap: the output is allocated first, since allocating can grow the
  // heap and detach views made before.
  wasm: ({ inputs: { dy, y }, attrs, backend }) => {
    const b = backend as WasmBackend;
    const out = b.makeOutput(dy.shape, 'float32');
    pass(b.typedArrayFromHeap(out), b.typedArrayFromHeap(dy), b.typedArrayFromHeap(y), attrs as unknown as BandAttrs);
    return out;
  },
  cpu: ({ inputs: { dy, y }, attrs, backend }) => {
    const b = backend as CpuBackend;
    const out = new Float32Array(tf.util.sizeFromShape(dy.shape));
    pass(out, b.readSync(dy.dataId), b.readSync(y.dataId), attrs as unknown as BandAttrs);
    return b.makeTensorInfo(dy.shape, 'float32', out);
  },
};

for (const [backendName, kernelFunc] of Object.entries(kernels)) {
  // Once per process, however many copies of this module load (dist/ beside src/ under jest).
  if (!tf.getKernel(BAND_PASS, backendName)) tf.registerKernel({ kernelName: BAND_PASS, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

/** dy where lo < y < hi, else 0 (float32 tensors of one shape); tf ops on backends without the kernel. */
export function bandPass(dy: tf.Tensor, y: tf.Tensor, lo: number, hi: number): tf.Tensor {
  if (tf.getKernel(BAND_PASS, tf.getBackend()) && dy.dtype === 'float32' && y.dtype === 'float32' && tf.util.arraysEqual(dy.shape, y.shape)) {
    return tf.engine().runKernel(BAND_PASS, { dy, y }, { lo, hi } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.tidy(() => {
    let mask = tf.step(tf.sub(y, lo));
    if (hi !== Infinity) mask = tf.mul(mask, tf.step(tf.sub(hi, y)));
    return tf.mul(dy, mask);
  });
}
