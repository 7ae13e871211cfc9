import tf = require('@tensorflow/tfjs');
import { registerOnce, type CpuData, type KernelArgs, type WasmHeap } from './custom-kernels.js';
import { heapOffset, simdKernels } from './simd/kernels.js';

/**
 * Bilinear resampling with precomputed taps, as two kernels that are each other's adjoint,
 * over a batch of NHWC pictures [B, p, c] (p pixels of c channels) that all share the taps:
 *  - CnnvizSampleGather {src [B, p, c], index int32 [4n], weight [5n]}, attrs fill, scale,
 *    offset -> [B, n, c]:
 *      out[b][i] = (sum over taps t of weight[t n + i] * src[b][index[t n + i]] + fill * weight[4 n + i]) * scale + offset
 *    The scale and offset take a [0, 1] picture into the model's input range (x 2 - 1 for
 *    MobileNet) on the way, rounded as the multiply and add after it would round them, and
 *    save those two passes over the batch, and the multiply's in the gradient.
 *  - CnnvizSampleScatter {dy [B, n, c], index, weight}, attrs p, scale -> [B, p, c]: the
 *    scatter-add of dy * scale through the same taps (fill and offset are constants).
 * The fifth weight plane is the share of an output pixel that lies outside the picture.
 * On wasm they are kernels of ours (simd/kernels.wat) that read the tensors in place, in the
 * layout the network uses: no transposes around them (RGB pixels four lanes at a time). wasm's GatherV2 does its index
 * arithmetic per element and took 200 ms a step for a batch of eight 224 px pictures.
 */
export const SAMPLE_GATHER = 'CnnvizSampleGather';
export const SAMPLE_SCATTER = 'CnnvizSampleScatter';

/** Sizes: n output pixels, p source pixels, batch pictures, c channels. */
interface Dims {
  n: number;
  p: number;
  batch: number;
  c: number;
}

/** The value mapping of a gather (`out = sampled * scale + offset`) and its scatter (`dy * scale`). */
export interface LinearMap {
  scale: number;
  offset: number;
}

export const IDENTITY: LinearMap = { scale: 1, offset: 0 };

export function gatherLoop(out: Float32Array, src: Float32Array, index: Int32Array, weight: Float32Array, { n, p, batch, c }: Dims, fill: number, { scale, offset }: LinearMap = IDENTITY): void {
  const f = Math.fround;
  const [k, a] = [f(scale), f(offset)];
  for (let i = 0; i < n; i++) {
    // The four taps in locals (no arrays): ~2.5x faster in V8 than a loop over taps.
    const w0 = weight[i], w1 = weight[n + i], w2 = weight[2 * n + i], w3 = weight[3 * n + i];
    const g = fill * weight[4 * n + i];
    const s0 = index[i] * c, s1 = index[n + i] * c, s2 = index[2 * n + i] * c, s3 = index[3 * n + i] * c;
    for (let b = 0; b < batch; b++) {
      const o = (b * n + i) * c;
      const base = b * p * c;
      for (let j = 0; j < c; j++) {
        // float32 rounding of the product before the offset, as a separate multiply and add.
        out[o + j] = f(f(w0 * src[base + s0 + j] + w1 * src[base + s1 + j] + (w2 * src[base + s2 + j] + w3 * src[base + s3 + j]) + g) * k) + a;
      }
    }
  }
}

export function scatterLoop(dsrc: Float32Array, dy: Float32Array, index: Int32Array, weight: Float32Array, { n, p, batch, c }: Dims, scale = 1): void {
  const k = Math.fround(scale);
  dsrc.fill(0);
  for (let i = 0; i < n; i++) {
    const w0 = weight[i], w1 = weight[n + i], w2 = weight[2 * n + i], w3 = weight[3 * n + i];
    const s0 = index[i] * c, s1 = index[n + i] * c, s2 = index[2 * n + i] * c, s3 = index[3 * n + i] * c;
    for (let b = 0; b < batch; b++) {
      const o = (b * n + i) * c;
      const base = b * p * c;
      for (let j = 0; j < c; j++) {
        const v = Math.fround(dy[o + j] * k);
        dsrc[base + s0 + j] += w0 * v;
        dsrc[base + s1 + j] += w1 * v;
        dsrc[base + s2 + j] += w2 * v;
        dsrc[base + s3 + j] += w3 * v;
      }
    }
  }
}

type Inputs = { src?: tf.TensorInfo; dy?: tf.TensorInfo; index: tf.TensorInfo; weight: tf.TensorInfo };
type Attrs = { fill?: number; p?: number; scale?: number; offset?: number };
type Args = KernelArgs<Inputs>;

function dimsOf({ inputs, attrs }: Args, gather: boolean): { dims: Dims; outShape: number[]; attrs: Attrs } {
  const a = (attrs ?? {}) as unknown as Attrs;
  const n = inputs.index.shape[0] / 4;
  const [batch, len, c] = (gather ? inputs.src : inputs.dy)!.shape;
  const p = gather ? len : a.p!;
  return { dims: { n, p, batch, c }, outShape: gather ? [batch, n, c] : [batch, p, c], attrs: a };
}

type Views = { out: Float32Array; data: Float32Array; index: Int32Array; weight: Float32Array };

/** The gather or the scatter as a JavaScript loop, wherever the data can be read as arrays. */
const runLoop = (gather: boolean, v: Views, dims: Dims, fill: number, map: LinearMap) =>
  gather ? gatherLoop(v.out, v.data, v.index, v.weight, dims, fill, map) : scatterLoop(v.out, v.data, v.index, v.weight, dims, map.scale);

const mapOf = (a: Attrs): LinearMap => ({ scale: a.scale ?? 1, offset: a.offset ?? 0 });

function register(name: string, gather: boolean): void {
  const loop = (v: Views, dims: Dims, attrs: Attrs) => runLoop(gather, v, dims, attrs.fill ?? 0, mapOf(attrs));
  const kernels = {
    // In place on wasm's heap. The output is allocated first: allocating can grow the heap
    // and detach views made before.
    wasm: (a: Args) => {
      const b = a.backend as WasmHeap;
      const { dims, outShape, attrs } = dimsOf(a, gather);
      const out = b.makeOutput(outShape, 'float32');
      const data = (gather ? a.inputs.src : a.inputs.dy)!;
      const simd = simdKernels(b);
      const { n, p, batch, c } = dims;
      if (simd) {
        const [o, d, i, w] = [out, data, a.inputs.index, a.inputs.weight].map((t) => heapOffset(b, t));
        const fill = attrs.fill ?? 0;
        const { scale, offset } = mapOf(attrs);
        // RGB gathers four lanes at a time (all but the last output pixel), where they can.
        const first = gather && c === 3 && simd.sample_gather3(o, d, i, w, n, p, batch, fill, scale, offset) ? Math.max(n - 1, 0) : 0;
        if (gather) simd.sample_gather(o, d, i, w, n, p, batch, c, fill, scale, offset, first);
        else simd.sample_scatter(o, d, i, w, n, p, batch, c, scale);
      } else {
        const view = (t: tf.TensorInfo) => b.typedArrayFromHeap(t);
        loop({ out: view(out) as Float32Array, data: view(data) as Float32Array, index: view(a.inputs.index) as Int32Array, weight: view(a.inputs.weight) as Float32Array }, dims, attrs);
      }
      return out;
    },
    cpu: (a: Args) => {
      const b = a.backend as CpuData;
      const { dims, outShape, attrs } = dimsOf(a, gather);
      const out = new Float32Array(tf.util.sizeFromShape(outShape));
      const read = (t: tf.TensorInfo) => b.readSync(t.dataId);
      loop({ out, data: read((gather ? a.inputs.src : a.inputs.dy)!) as Float32Array, index: read(a.inputs.index) as Int32Array, weight: read(a.inputs.weight) as Float32Array }, dims, attrs);
      return b.makeTensorInfo(outShape, 'float32', out);
    },
  };
  registerOnce(name, kernels);
}

register(SAMPLE_GATHER, true);
register(SAMPLE_SCATTER, false);

/** Bilinear taps of n output pixels: int32 index [4n] (four source pixels each), weight [5n] (theirs, then the fill's). */
export interface Taps {
  index: tf.Tensor1D;
  weight: tf.Tensor1D;
}

const hasKernels = (): boolean => tf.getKernel(SAMPLE_GATHER, tf.getBackend()) !== undefined;

/** Where the backend has no kernel (webgl, tfjs-node), the same loop on read-back data. */
function onReadBack(gather: boolean, data: tf.Tensor3D, taps: Taps, dims: Dims, fill: number, map: LinearMap): tf.Tensor3D {
  const { n, p, batch, c } = dims;
  const out = new Float32Array(batch * (gather ? n : p) * c);
  runLoop(gather, { out, data: data.dataSync() as Float32Array, index: taps.index.dataSync() as Int32Array, weight: taps.weight.dataSync() as Float32Array }, dims, fill, map);
  return tf.tensor3d(out, [batch, gather ? n : p, c]);
}

/** src [B, p, c] sampled at the taps: [B, n, c]; `fill` where a pixel lies outside; then times map.scale plus map.offset. */
export function sampleGather(src: tf.Tensor3D, taps: Taps, fill: number, map: LinearMap = IDENTITY): tf.Tensor3D {
  if (hasKernels()) return tf.engine().runKernel(SAMPLE_GATHER, { src, index: taps.index, weight: taps.weight }, { fill, ...map } as unknown as tf.NamedAttrMap) as tf.Tensor3D;
  const [batch, p, c] = src.shape;
  return onReadBack(true, src, taps, { n: taps.index.size / 4, p, batch, c }, fill, map);
}

/** The adjoint: dy [B, n, c] times `scale`, scattered back onto p source pixels, [B, p, c]. */
export function sampleScatter(dy: tf.Tensor3D, taps: Taps, p: number, scale = 1): tf.Tensor3D {
  if (hasKernels()) return tf.engine().runKernel(SAMPLE_SCATTER, { dy, index: taps.index, weight: taps.weight }, { p, scale } as unknown as tf.NamedAttrMap) as tf.Tensor3D;
  const [batch, n, c] = dy.shape;
  return onReadBack(false, dy, taps, { n, p, batch, c }, 0, { scale, offset: 0 });
}
