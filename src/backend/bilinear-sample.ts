import * as tf from '@tensorflow/tfjs';
import { heapOffset, simdKernels } from './simd/kernels.js';

/**
 * Bilinear resampling with precomputed taps, as two kernels that are each other's adjoint:
 *  - CnnvizSampleGather {src [p, k], index int32 [4n], weight [4n]} -> [n, k]:
 *      out[i] = sum over taps t of weight[t n + i] * src[index[t n + i]]
 *  - CnnvizSampleScatter {dy [n, k], index, weight}, attr p -> [p, k]: the scatter-add of dy
 *    through the same taps.
 * A "pixel" is a row of k floats: a dream puts a whole batch's channels side by side, so one
 * tap's index and weight serve them all, and on wasm they run four at a time (our SIMD
 * kernels, simd/kernels.wat, when k is a multiple of 4). wasm's GatherV2 does its index
 * arithmetic per element and took 200 ms a step for a batch of eight 224 px pictures.
 */
export const SAMPLE_GATHER = 'CnnvizSampleGather';
export const SAMPLE_SCATTER = 'CnnvizSampleScatter';

export function gatherLoop(out: Float32Array, src: Float32Array, index: Int32Array, weight: Float32Array, n: number, k: number): void {
  for (let i = 0; i < n; i++) {
    // The four taps in locals (no arrays): ~2.5x faster in V8 than a loop over taps.
    const w0 = weight[i], w1 = weight[n + i], w2 = weight[2 * n + i], w3 = weight[3 * n + i];
    const s0 = index[i] * k, s1 = index[n + i] * k, s2 = index[2 * n + i] * k, s3 = index[3 * n + i] * k;
    const o = i * k;
    for (let c = 0; c < k; c++) out[o + c] = w0 * src[s0 + c] + w1 * src[s1 + c] + w2 * src[s2 + c] + w3 * src[s3 + c];
  }
}

export function scatterLoop(dsrc: Float32Array, dy: Float32Array, index: Int32Array, weight: Float32Array, n: number, k: number): void {
  dsrc.fill(0);
  for (let i = 0; i < n; i++) {
    const w0 = weight[i], w1 = weight[n + i], w2 = weight[2 * n + i], w3 = weight[3 * n + i];
    const s0 = index[i] * k, s1 = index[n + i] * k, s2 = index[2 * n + i] * k, s3 = index[3 * n + i] * k;
    const o = i * k;
    for (let c = 0; c < k; c++) {
      const v = dy[o + c];
      dsrc[s0 + c] += w0 * v;
      dsrc[s1 + c] += w1 * v;
      dsrc[s2 + c] += w2 * v;
      dsrc[s3 + c] += w3 * v;
    }
  }
}

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

interface CpuBackend {
  readSync(dataId: object): Float32Array | Int32Array;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

type Inputs = { src?: tf.TensorInfo; dy?: tf.TensorInfo; index: tf.TensorInfo; weight: tf.TensorInfo };
type Args = { inputs: Inputs; attrs?: tf.NamedAttrMap; backend: unknown };

/** n output pixels, k floats a pixel, p source pixels. */
function sizes({ inputs, attrs }: Args, gather: boolean): { n: number; k: number; p: number; outShape: number[] } {
  const n = inputs.index.shape[0] / 4;
  if (gather) {
    const [p, k] = inputs.src!.shape;
    return { n, k, p, outShape: [n, k] };
  }
  const k = inputs.dy!.shape[1];
  const p = (attrs as unknown as { p: number }).p;
  return { n, k, p, outShape: [p, k] };
}

function register(name: string, gather: boolean): void {
  const loop = gather ? gatherLoop : scatterLoop;
  const kernels = {
    // In place on wasm's heap. The output is allocated first: allocating can grow the heap
    // and detach views made before.
    wasm: (a: Args) => {
      const b = a.backend as WasmBackend;
      const { n, k, p, outShape } = sizes(a, gather);
      const out = b.makeOutput(outShape, 'float32');
      const data = (gather ? a.inputs.src : a.inputs.dy)!;
      const simd = k % 4 === 0 ? simdKernels(b) : null;
      const [o, d, i, w] = [out, data, a.inputs.index, a.inputs.weight].map((t) => heapOffset(b, t));
      if (simd && gather) simd.sample_gather(o, d, i, w, n, k);
      else if (simd) simd.sample_scatter(o, d, i, w, n, k, p);
      else {
        const view = (t: tf.TensorInfo) => b.typedArrayFromHeap(t);
        loop(view(out) as Float32Array, view(data) as Float32Array, view(a.inputs.index) as Int32Array, view(a.inputs.weight) as Float32Array, n, k);
      }
      return out;
    },
    cpu: (a: Args) => {
      const b = a.backend as CpuBackend;
      const { n, k, outShape } = sizes(a, gather);
      const out = new Float32Array(outShape[0] * outShape[1]);
      const read = (t: tf.TensorInfo) => b.readSync(t.dataId);
      loop(out, read((gather ? a.inputs.src : a.inputs.dy)!) as Float32Array, read(a.inputs.index) as Int32Array, read(a.inputs.weight) as Float32Array, n, k);
      return b.makeTensorInfo(outShape, 'float32', out);
    },
  };
  for (const [backendName, kernelFunc] of Object.entries(kernels)) {
    // Once per process, however many copies of this module load (dist/ beside src/ under jest).
    if (!tf.getKernel(name, backendName)) tf.registerKernel({ kernelName: name, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}

register(SAMPLE_GATHER, true);
register(SAMPLE_SCATTER, false);

/** Bilinear taps: four planes of n source-pixel indices and weights. */
export interface Taps {
  index: tf.Tensor1D;
  weight: tf.Tensor1D;
}

/** Whether this backend has the kernels; elsewhere (webgl, tfjs-node) the caller reads the data back. */
export const hasSampleKernels = (): boolean => tf.getKernel(SAMPLE_GATHER, tf.getBackend()) !== undefined;

export const sampleGather = (src: tf.Tensor2D, { index, weight }: Taps): tf.Tensor2D =>
  tf.engine().runKernel(SAMPLE_GATHER, { src, index, weight }) as tf.Tensor2D;

export const sampleScatter = (dy: tf.Tensor2D, { index, weight }: Taps, p: number): tf.Tensor2D =>
  tf.engine().runKernel(SAMPLE_SCATTER, { dy, index, weight }, { p } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
