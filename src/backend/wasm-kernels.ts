import tf = require('@tensorflow/tfjs');
import { depthwiseInputGradient } from './conv-gradients.js';
import { type WasmHeap } from './custom-kernels.js';
import { heapOffset, simdKernels } from './simd/kernels.js';

type Kernel = (args: { inputs: Record<string, tf.Tensor>; attrs: Record<string, unknown>; backend?: unknown }) => tf.Tensor;

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
    const ids = tf.cast(tf.reshape(segmentIds, [n]), 'int32');
    // oneHot needs depth >= 2; one segment still has to drop ids that are out of range.
    const oneHot = numSegments > 1 ? tf.oneHot(ids, numSegments) : tf.cast(tf.expandDims(tf.equal(ids, 0), 1), 'float32');
    const sums = tf.matMul(oneHot, flat, true, false);
    return tf.cast(tf.reshape(sums, [numSegments, ...rest]), x.dtype);
  });

interface RefCounting {
  incRef(dataId: object): void;
  readSync(dataId: object): unknown;
}

/**
 * wasm's Identity copies the buffer, and the engine clones (Identity) every tensor it saves
 * for the backward pass: each gradient step copied every activation and weight, and the
 * copies' fresh dataIds defeated both our derived-weight cache and XNNPACK's operator
 * cache (keyed on the filter's buffer). Tensors are immutable, so sharing the buffer with
 * a reference count is exact; wasm's own Reshape does the same.
 */
const identity = ({ inputs, backend }: { inputs: Record<string, tf.Tensor>; backend?: unknown }) => {
  const { x } = inputs;
  // Strings stay copies, as in wasm's kernel: the engine counts their bytes per tensor.
  if (x.dtype === 'string') return tf.tensor((backend as RefCounting).readSync(x.dataId) as string[], x.shape, 'string');
  (backend as RefCounting).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype } as unknown as tf.Tensor;
};

/** One-hot filters that route tap k of a pooling window back to its position. */
const routers = new Map<string, tf.Tensor4D>();
function router(fh: number, fw: number, c: number): tf.Tensor4D {
  const key = `${fh}x${fw}x${c}`;
  let r = routers.get(key);
  if (!r || r.isDisposed) {
    const k = fh * fw;
    r = tf.keep(tf.tidy(() => tf.tile(tf.reshape(tf.eye(k), [fh, fw, 1, k]), [1, 1, c, 1]))) as tf.Tensor4D;
    routers.set(key, r);
  }
  return r;
}

/**
 * wasm's own MaxPoolGrad is a scalar loop (~20 ms for one 112x112x64 map) and routes the
 * gradient differently from cpu and TensorFlow: to the last of equal maxima, and never to a
 * maximum that is <= 0 (1x1 pools lose every non-positive input). This one takes the first
 * maximum in scan order, as cpu does, via argMax over the window taps.
 * Disjoint unpadded windows (the usual 2x2/2 pool) are regrouped with a reshape/transpose;
 * any other geometry stacks strided slices and scatters back with a depthwise transposed
 * conv whose filter is one-hot per tap.
 */
const poolInfo = (input: tf.Tensor, attrs: Record<string, unknown>) =>
  tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );

const composedMaxPoolGrad: Kernel = ({ inputs, attrs }) =>
  tf.tidy(() => {
    const { dy, input } = inputs;
    const info = poolInfo(input, attrs);
    const { filterHeight: fh, filterWidth: fw, outHeight: ho, outWidth: wo, inHeight: h, inWidth: w, strideHeight: sh, strideWidth: sw } = info;
    const [n, , , c] = input.shape;
    const k = fh * fw;
    const p = info.padInfo;
    const scatter = (routed: tf.Tensor) =>
      depthwiseInputGradient(routed as tf.Tensor4D, router(fh, fw, c), input.shape, {
        strides: [sh, sw],
        pad: [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]],
      });
    // A 1x1 window always picks its only element: dy just lands on the strided grid.
    if (k === 1) return scatter(dy);
    const disjoint = fh === sh && fw === sw && !p.top && !p.left && !p.bottom && !p.right;
    if (disjoint) {
      const used = ho * fh === h && wo * fw === w ? input : tf.slice(input, [0, 0, 0, 0], [n, ho * fh, wo * fw, c]);
      const windows = tf.transpose(tf.reshape(used, [n, ho, fh, wo, fw, c]), [0, 1, 3, 5, 2, 4]);
      const first = tf.argMax(tf.reshape(windows, [n, ho, wo, c, k]), 4);
      const routed = tf.mul(tf.oneHot(first, k), tf.expandDims(dy, 4));
      const dx = tf.reshape(tf.transpose(tf.reshape(routed, [n, ho, wo, c, fh, fw]), [0, 1, 4, 2, 5, 3]), [n, ho * fh, wo * fw, c]);
      return used === input ? dx : tf.pad(dx, [[0, 0], [0, h - ho * fh], [0, w - wo * fw], [0, 0]]);
    }
    const padded = tf.pad(input, [[0, 0], [p.top, Math.max(0, p.bottom)], [p.left, Math.max(0, p.right)], [0, 0]], -Infinity);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        taps.push(tf.stridedSlice(padded, [0, i, j, 0], [n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1, c], [1, sh, sw, 1]));
      }
    }
    const first = tf.argMax(tf.stack(taps, 4), 4);
    return scatter(tf.reshape(tf.mul(tf.oneHot(first, k), tf.expandDims(dy, 4)), [n, ho, wo, c * k]));
  });

/**
 * The same routing in one pass of our SIMD kernel (simd/kernels.wat, max_pool_grad): the
 * composed version above is five or six passes (transposes, argMax, oneHot, a product), 270 ms
 * of a 1,000 ms Darknet-Tiny dream step. The composed one stays for where the kernels cannot load.
 */
const maxPoolGrad: Kernel = (args) => {
  const { inputs, attrs, backend } = args;
  const { dy, input } = inputs;
  const simd = simdKernels(backend);
  if (!simd || dy.dtype !== 'float32' || input.dtype !== 'float32' || input.rank !== 4) return composedMaxPoolGrad(args);
  const info = poolInfo(input, attrs);
  const heap = backend as WasmHeap;
  const dx = heap.makeOutput(input.shape, 'float32');
  const [n, h, w, c] = input.shape;
  simd.max_pool_grad(heapOffset(heap, dx), heapOffset(heap, dy), heapOffset(heap, input), n, h, w, c, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
  return dx as unknown as tf.Tensor;
};

/**
 * wasm's own AvgPoolGrad is a scalar loop; this is one SIMD pass of ours (avg_pool_grad) with
 * cpu's numbers: dy / (fh fw) onto each window's taps inside the input. Other dtypes and
 * dilated pools go to wasm's kernel.
 */
const avgPoolGrad = () =>
  delegating('AvgPoolGrad', ({ inputs, attrs, backend }) => {
    const { dy, input } = inputs;
    const simd = simdKernels(backend);
    if (!simd || dy.dtype !== 'float32' || input.rank !== 4) return undefined;
    const info = poolInfo(input, attrs);
    const heap = backend as WasmHeap;
    const dx = heap.makeOutput(input.shape, 'float32');
    const [n, h, w, c] = input.shape;
    const { outHeight, outWidth, filterHeight: fh, filterWidth: fw, strideHeight, strideWidth, padInfo } = info;
    simd.avg_pool_grad(heapOffset(heap, dx), heapOffset(heap, dy), n, h, w, c, outHeight, outWidth, fh, fw, strideHeight, strideWidth, padInfo.top, padInfo.left, 1 / (fh * fw));
    return dx as unknown as tf.Tensor;
  });

// A replacement that delegates remembers the kernel it displaced, so registering again
// (say from a second copy of this module) still reaches wasm's own kernel.
const DISPLACED = Symbol.for('cnnviz.displacedKernel');

function displaced(name: string): tf.KernelConfig | undefined {
  const k = tf.getKernel(name, 'wasm');
  const saved = k && (k.kernelFunc as unknown as Record<symbol, tf.KernelConfig | undefined>)[DISPLACED];
  return saved ?? k;
}

/**
 * A kernel that handles what it can fast and hands the rest to the wasm kernel it displaced
 * (`fast` returns undefined for those).
 */
function delegating(name: string, fast: (args: Parameters<Kernel>[0]) => tf.Tensor | undefined): Kernel | undefined {
  const original = displaced(name);
  if (!original) return undefined;
  let setUp = false;
  const kernel: Kernel = (args) => {
    const out = fast(args);
    if (out) return out;
    // unregisterKernel keeps wasm's compiled function, but only if its setup has run.
    if (!setUp && original.setupFunc) original.setupFunc(args.backend as tf.KernelBackend);
    setUp = true;
    return original.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.Tensor;
  };
  (kernel as unknown as Record<symbol, unknown>)[DISPLACED] = original;
  return kernel;
}

/**
 * wasm's BatchMatMul runs XNNPACK only without transposes; with transposeA/B it falls back
 * to a scalar loop ~10x slower, and every matMul gradient asks for a transpose. An
 * explicit Transpose (a cheap copy) first keeps the product on XNNPACK.
 */
const batchMatMul = () =>
  delegating('BatchMatMul', ({ inputs, attrs }) => {
    const { a, b } = inputs;
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return undefined;
    return tf.tidy(() => {
      const swap = (t: tf.Tensor) => tf.transpose(t, [...t.shape.keys()].map((i, _, all) => (i < all.length - 2 ? i : 2 * all.length - 3 - i)));
      return tf.matMul(transposeA ? swap(a) : a, transposeB ? swap(b) : b);
    });
  });

/**
 * wasm's Tile is a scalar loop (27 ms to tile 32 values over 112x112) and the BatchNorm
 * gradient tiles every per-channel factor to the full activation. Tiling is a broadcast:
 * x reshaped to [1, s0, 1, s1, ...] times ones of [r0, 1, r1, 1, ...], on XNNPACK (<1 ms).
 */
const tile = () =>
  delegating('Tile', ({ inputs, attrs }) => {
    const { x } = inputs;
    const reps = attrs.reps as number[];
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return undefined;
    const xShape: number[] = [];
    const onesShape: number[] = [];
    const outShape: number[] = [];
    x.shape.forEach((size, i) => {
      if (reps[i] > 1) {
        xShape.push(1);
        onesShape.push(reps[i]);
      }
      xShape.push(size);
      onesShape.push(1);
      outShape.push(size * reps[i]);
    });
    // XNNPACK broadcasts up to 6 dimensions.
    if (xShape.length > 6) return undefined;
    return tf.tidy(() => tf.reshape(tf.mul(tf.reshape(x, xShape), tf.ones(onesShape, x.dtype)), outShape));
  });

/**
 * wasm's Minimum/Maximum against a scalar take a slow broadcasting path (2.6 ms for
 * 112x112x32), and Keras' relu6 is minimum(6, relu(x)) on every MobileNet activation.
 * Against a scalar they are a clamp, which wasm runs on XNNPACK. Exact for every number
 * including ±Infinity; a NaN input comes out as the clamp's bound side (-Infinity for
 * Minimum), where cpu keeps NaN and wasm's own kernel returned the scalar.
 */
function clampAgainstScalar(name: 'Minimum' | 'Maximum') {
  return delegating(name, ({ inputs }) => {
    const { a, b } = inputs;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
    const [scalar, t] = a.size === 1 ? [a, b] : b.size === 1 ? [b, a] : [undefined, undefined];
    // The result takes t's shape only if the scalar adds no dimensions.
    if (!scalar || !t || scalar.rank > t.rank) return undefined;
    const v = scalar.dataSync()[0];
    if (Number.isNaN(v)) return undefined;
    return name === 'Minimum' ? tf.clipByValue(t, -Infinity, v) : tf.clipByValue(t, v, Infinity);
  });
}

/**
 * wasm's FusedBatchNorm is a scalar loop (5.9 ms on an 8x112x112x16 map, after every
 * convolution of a MobileNet or of cnnviz's own model). With per-channel statistics it is
 * x * s + o, s = scale / sqrt(variance + eps), o = offset - mean * s: two XNNPACK
 * broadcasts (3.4 ms). Other shapes go to wasm's kernel.
 */
const fusedBatchNorm = () =>
  delegating('FusedBatchNorm', ({ inputs, attrs }) => {
    const { x, mean, variance, offset, scale } = inputs;
    const channels = x.shape[x.rank - 1];
    const perChannel = (t: tf.Tensor | undefined) => !t || (t.rank === 1 && t.size === channels && t.dtype === 'float32');
    if (x.dtype !== 'float32' || ![mean, variance, offset, scale].every(perChannel)) return undefined;
    const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
    return tf.tidy(() => {
      const s = scale ? tf.mul(tf.rsqrt(tf.add(variance, eps)), scale) : tf.rsqrt(tf.add(variance, eps));
      const o = offset ? tf.sub(offset, tf.mul(mean, s)) : tf.neg(tf.mul(mean, s));
      return tf.add(tf.mul(x, s), o);
    });
  });

/**
 * A transpose of `shape` by `perm` as [a, b, c, d] -> [a, c, b, d], when it is one: size-1
 * axes dropped and runs of axes that stay neighbours merged, it swaps two neighbouring runs
 * (a, d the products of the axes before and after them). Else undefined.
 */
export function asSwap(shape: number[], perm: number[]): [number, number, number, number] | undefined {
  const moved = perm.filter((axis) => shape[axis] !== 1);
  const kept = [...moved].sort((a, b) => a - b);
  const runs: number[][] = [];
  for (const axis of moved) {
    const last = runs[runs.length - 1];
    if (last && kept.indexOf(last[last.length - 1]) + 1 === kept.indexOf(axis)) last.push(axis);
    else runs.push([axis]);
  }
  const size = (run: number[]) => run.reduce((m, axis) => m * shape[axis], 1);
  const byInput = [...runs].sort((r, q) => r[0] - q[0]);
  const order = runs.map((r) => byInput.indexOf(r));
  if (order.length <= 1) return [1, 1, 1, size(moved)];
  const i = order.findIndex((q, j) => q !== j);
  if (order[i] !== i + 1 || order[i + 1] !== i || order.some((q, j) => j !== i && j !== i + 1 && q !== j)) return undefined;
  const product = (rs: number[][]) => rs.reduce((m, r) => m * size(r), 1);
  return [product(byInput.slice(0, i)), size(byInput[i]), size(byInput[i + 1]), product(byInput.slice(i + 2))];
}

/**
 * wasm's Transpose is a general strided loop (3.3 ms for 1.2 M floats); the ones a dream step
 * and its gradients make (phases into pixels, planes into channels) swap two neighbouring
 * axis runs, a block copy in our kernel (simd/kernels.wat).
 */
const transpose = () =>
  delegating('Transpose', ({ inputs, attrs, backend }) => {
    const { x } = inputs;
    const perm = attrs.perm as number[];
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || x.size === 0) return undefined;
    const swap = asSwap(x.shape, perm);
    const simd = swap && simdKernels(backend);
    if (!swap || !simd) return undefined;
    const heap = backend as WasmHeap;
    const out = heap.makeOutput(perm.map((axis) => x.shape[axis]), x.dtype);
    simd.swap_middle(heapOffset(heap, out), heapOffset(heap, x), ...swap);
    return out as unknown as tf.Tensor;
  });

/**
 * A slice as runs of contiguous elements: trailing axes that are kept whole are merged into
 * the innermost run, so cropping one row and column off an NHWC map copies whole rows.
 * Returns [outer sizes, outer strides, base offset, run length].
 */
export function sliceRuns(shape: number[], begin: number[], size: number[]): { outer: number[]; strides: number[]; offset: number; run: number } {
  const strides = tf.util.computeStrides(shape);
  let k = shape.length - 1;
  let run = 1;
  // Merge axes from the end while each is kept whole.
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) run *= shape[k--];
  run *= size[k];
  const offset = begin.reduce((o, b, i) => o + b * (strides[i] ?? 1), 0);
  return { outer: size.slice(0, k), strides: strides.slice(0, k), offset, run };
}

/**
 * wasm's Slice copies a 4-D crop one innermost row at a time through a fresh subarray:
 * 14 ms to crop [8, 146, 146, 3] to 145 x 145 (three floats per copy), which the strided
 * conv gradient does on every odd-sized native dream step. Whole-row runs: ~0.2 ms. Same bytes.
 */
const slice = () =>
  delegating('Slice', ({ inputs, attrs, backend }) => {
    const { x } = inputs;
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || x.rank === 0) return undefined;
    const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
    if (size.some((d) => d === 0)) return undefined;
    const heap = backend as WasmHeap;
    const out = heap.makeOutput(size, x.dtype);
    // Views after makeOutput: allocating can grow the heap and detach earlier ones.
    const src = heap.typedArrayFromHeap(x);
    const dst = heap.typedArrayFromHeap(out);
    const { outer, strides, offset, run } = sliceRuns(x.shape, begin, size);
    const count = outer.reduce((a, b) => a * b, 1);
    const at = new Array<number>(outer.length).fill(0);
    for (let r = 0; r < count; r++) {
      let o = offset;
      for (let i = 0; i < at.length; i++) o += at[i] * strides[i];
      dst.set(src.subarray(o, o + run), r * run);
      // Odometer over the outer axes, last fastest.
      for (let i = at.length - 1; i >= 0 && ++at[i] === outer[i]; i--) at[i] = 0;
    }
    return out as unknown as tf.Tensor;
  });

/**
 * Kernels beyond the conv gradients that training or visualisation needs on wasm. Built on
 * each call: a delegating replacement captures the kernel registered at that moment.
 */
export function extraWasmKernels(): Record<string, Kernel> {
  const delegates = {
    BatchMatMul: batchMatMul(),
    Tile: tile(),
    Minimum: clampAgainstScalar('Minimum'),
    Maximum: clampAgainstScalar('Maximum'),
    FusedBatchNorm: fusedBatchNorm(),
    Transpose: transpose(),
    Slice: slice(),
    AvgPoolGrad: avgPoolGrad(),
  };
  const present = Object.entries(delegates).filter((e): e is [string, Kernel] => e[1] !== undefined);
  return {
    UnsortedSegmentSum: unsortedSegmentSum,
    Identity: identity as Kernel,
    MaxPoolGrad: maxPoolGrad,
    ...Object.fromEntries(present),
  };
}
