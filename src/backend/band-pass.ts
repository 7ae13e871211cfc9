import tf = require('@tensorflow/tfjs');
import { registerOnce, type CpuData, type KernelArgs, type WasmHeap } from './custom-kernels.js';
import { heapOffset, simdKernels } from './simd/kernels.js';

/**
 * Gradients of a clamping activation (relu: band (0, ∞), relu6: (0, 6)) read off its output
 * y, in one pass over dy and y. As tf ops the same mask is four or five passes (step, sub,
 * step, sub, mul), and after every convolution of a MobileNet those passes cost more than the
 * convolution's own input gradient.
 *  - CnnvizBandPass: dy where lo < y < hi, else 0.
 *  - CnnvizRedirectPass: Lucid's redirected gradient (dream/overrides/redirect.ts), per example along
 *    the first axis: the band pass, or, for an example whose band pass is all zero, dy except
 *    where it would push a unit further past a bound (y <= lo with dy > 0, y >= hi with dy < 0).
 * On wasm both are SIMD kernels of ours (simd/kernels.wat); on cpu, and where those cannot
 * load, the loops below compute the same numbers.
 */
export const BAND_PASS = 'CnnvizBandPass';
export const REDIRECT_PASS = 'CnnvizRedirectPass';

interface BandAttrs {
  lo: number;
  hi: number;
}

/** A pass over `batch` examples laid out one after another. */
type Pass = (out: Float32Array, dy: Float32Array, y: Float32Array, attrs: BandAttrs, batch: number) => void;

/** The band pass over out/dy/y[start, end); true if any output is non-zero. */
function band(out: Float32Array, dy: Float32Array, y: Float32Array, start: number, end: number, lo: number, hi: number): boolean {
  let any = false;
  for (let i = start; i < end; i++) {
    const v = y[i];
    // Branch-free: the mask is noise to a branch predictor.
    const g = (Number(v > lo) & Number(v < hi)) === 1 ? dy[i] : 0;
    out[i] = g;
    any ||= g !== 0;
  }
  return any;
}

const bandPassLoop: Pass = (out, dy, y, { lo, hi }) => void band(out, dy, y, 0, out.length, lo, hi);

const redirectPassLoop: Pass = (out, dy, y, { lo, hi }, batch) => {
  const per = out.length / batch;
  for (let start = 0; start < out.length; start += per) {
    if (band(out, dy, y, start, start + per, lo, hi)) continue;
    for (let i = start; i < start + per; i++) {
      const v = y[i];
      const g = dy[i];
      out[i] = (v <= lo && g > 0) || (v >= hi && g < 0) ? 0 : g;
    }
  }
};

type Args = KernelArgs<{ dy: tf.TensorInfo; y: tf.TensorInfo }>;

/** Examples along the first axis; a scalar or vector is one. */
const batchOf = (shape: number[]) => (shape.length > 1 ? shape[0] : 1);

function kernelsFor(name: string, loop: Pass, simd: (b: WasmHeap, out: tf.TensorInfo, a: Args) => boolean) {
  return {
    // In place on wasm's heap. The output is allocated first: allocating can grow the heap
    // and detach views made before.
    wasm: (a: Args) => {
      const b = a.backend as WasmHeap;
      const out = b.makeOutput(a.inputs.dy.shape, 'float32');
      if (!simd(b, out, a)) {
        const attrs = a.attrs as unknown as BandAttrs;
        const view = (t: tf.TensorInfo) => b.typedArrayFromHeap(t) as Float32Array;
        loop(view(out), view(a.inputs.dy), view(a.inputs.y), attrs, batchOf(out.shape));
      }
      return out;
    },
    cpu: (a: Args) => {
      const b = a.backend as CpuData;
      const { dy, y } = a.inputs;
      const out = new Float32Array(tf.util.sizeFromShape(dy.shape));
      const read = (t: tf.TensorInfo) => b.readSync(t.dataId) as Float32Array;
      loop(out, read(dy), read(y), a.attrs as unknown as BandAttrs, batchOf(dy.shape));
      return b.makeTensorInfo(dy.shape, 'float32', out);
    },
    name,
  };
}

const KERNELS = [
  kernelsFor(BAND_PASS, bandPassLoop, (b, out, { inputs: { dy, y }, attrs }) => {
    const simd = simdKernels(b);
    const { lo, hi } = attrs as unknown as BandAttrs;
    simd?.band_pass(heapOffset(b, out), heapOffset(b, dy), heapOffset(b, y), tf.util.sizeFromShape(dy.shape), lo, hi);
    return simd !== null;
  }),
  kernelsFor(REDIRECT_PASS, redirectPassLoop, (b, out, { inputs: { dy, y }, attrs }) => {
    const simd = simdKernels(b);
    const { lo, hi } = attrs as unknown as BandAttrs;
    const batch = batchOf(dy.shape);
    const per = tf.util.sizeFromShape(dy.shape) / batch;
    simd?.redirect_pass(heapOffset(b, out), heapOffset(b, dy), heapOffset(b, y), batch, per, lo, hi);
    return simd !== null;
  }),
];

for (const { name, ...byBackend } of KERNELS) registerOnce(name, byBackend);

/** Whether `name` can run on dy and y here; other backends (webgl, tfjs-node) use tf ops. */
export function hasPassKernel(name: string, dy: tf.Tensor, y: tf.Tensor): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined && dy.dtype === 'float32' && y.dtype === 'float32' && tf.util.arraysEqual(dy.shape, y.shape);
}

export function runPass(name: string, dy: tf.Tensor, y: tf.Tensor, lo: number, hi: number): tf.Tensor {
  return tf.engine().runKernel(name, { dy, y }, { lo, hi } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** dy where lo < y < hi, else 0 (tensors of one shape). */
export function bandPass(dy: tf.Tensor, y: tf.Tensor, lo: number, hi: number): tf.Tensor {
  if (hasPassKernel(BAND_PASS, dy, y)) return runPass(BAND_PASS, dy, y, lo, hi);
  return tf.tidy(() => {
    let mask = tf.step(tf.sub(y, lo));
    if (hi !== Infinity) mask = tf.mul(mask, tf.step(tf.sub(hi, y)));
    return tf.mul(dy, mask);
  });
}
