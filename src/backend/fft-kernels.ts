import tf = require('@tensorflow/tfjs');
import { registerOnce, type KernelArgs, type WasmHeap } from './custom-kernels.js';
import { heapOffset, simdKernels } from './simd/kernels.js';

/**
 * irfft2d and its adjoint for power-of-two sizes as wasm kernels of ours (simd/kernels.wat:
 * four transforms a lane each, in float32), for fft.ts. The JavaScript transforms cost ~19 ms
 * of a batch-8 dream step at 128 px; half of that was moving values between layouts, which
 * the kernels do in place on wasm's heap. Other sizes and backends keep the JavaScript path.
 */
export const IRFFT2D = 'CnnvizIrfft2d';
export const IRFFT2D_ADJOINT = 'CnnvizIrfft2dAdjoint';

type Args = KernelArgs;

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** The sizes the kernels take: powers of two, at least 4 (four rows a lane). */
export const kernelSizes = (h: number, w: number): boolean => isPowerOfTwo(h) && isPowerOfTwo(w) && h >= 4 && w >= 4;

/** Twiddles (n/2 cosines, n/2 of -sine) and bit-reversed byte offsets for length n, as the kernels read them. */
function planOf(n: number): { twiddles: Float32Array; reversed: Int32Array } {
  let plan = plans.get(n);
  if (!plan) {
    const twiddles = new Float32Array(n);
    const reversed = new Int32Array(n);
    const bits = Math.log2(n);
    for (let k = 0; k < n / 2; k++) {
      twiddles[k] = Math.cos((2 * Math.PI * k) / n);
      twiddles[n / 2 + k] = -Math.sin((2 * Math.PI * k) / n);
    }
    for (let k = 0; k < n; k++) {
      let r = 0;
      for (let j = 0; j < bits; j++) r |= ((k >> j) & 1) << (bits - 1 - j);
      reversed[k] = r * 32; // a buf entry is two v128s
    }
    plan = { twiddles, reversed };
    plans.set(n, plan);
  }
  return plan;
}
const plans = new Map<number, { twiddles: Float32Array; reversed: Int32Array }>();

/** Allocates the kernels' scratch (layout in kernels.wat), with the plans for h and w copied in. */
function withScratch<T>(b: WasmHeap, h: number, w: number, run: (offsets: number[]) => T): T {
  const wf4 = Math.ceil((w / 2 + 1) / 4) * 4;
  const sizes = [8 * Math.max(h, w), h, w, h, w, h * wf4, h * wf4]; // buf, twh, tww, revh, revw, zr, zi (4-byte words)
  const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, s) => a + s, 0));
  const scratch = b.makeOutput([sizes.reduce((a, s) => a + s, 0)], 'float32');
  try {
    const words = b.typedArrayFromHeap(scratch) as Float32Array;
    const ints = new Int32Array(words.buffer, words.byteOffset, words.length);
    [h, w].forEach((n, i) => {
      const { twiddles, reversed } = planOf(n);
      words.set(twiddles, starts[1 + i]);
      ints.set(reversed, starts[3 + i]);
    });
    const base = heapOffset(b, scratch);
    return run(starts.map((s) => base + 4 * s));
  } finally {
    b.disposeData(scratch.dataId);
  }
}

type Sizes = { h: number; w: number };

/** The optional [h, wf] spectrum scale input as the kernels take it: its offset, and whether there is one. */
const scaleArgs = (b: WasmHeap, scale: tf.TensorInfo | undefined): [number, number] => (scale ? [heapOffset(b, scale), 1] : [0, 0]);

function irfft2dWasm({ inputs: { re, im, scale }, attrs, backend }: Args): tf.TensorInfo {
  const b = backend as WasmHeap;
  const { h, w } = attrs as unknown as Sizes;
  const planes = tf.util.sizeFromShape(re.shape) / (h * (w / 2 + 1));
  const out = b.makeOutput([...re.shape.slice(0, -2), h, w], 'float32');
  const simd = simdKernels(b)!;
  withScratch(b, h, w, (s) => simd.irfft2(heapOffset(b, out), heapOffset(b, re), heapOffset(b, im), ...scaleArgs(b, scale), planes, h, w, ...s));
  return out;
}

function irfft2dAdjointWasm({ inputs: { dy, scale }, attrs, backend }: Args): tf.TensorInfo[] {
  const b = backend as WasmHeap;
  const { h, w } = attrs as unknown as Sizes;
  const planes = tf.util.sizeFromShape(dy.shape) / (h * w);
  const shape = [...dy.shape.slice(0, -2), h, w / 2 + 1];
  const re = b.makeOutput(shape, 'float32');
  const im = b.makeOutput(shape, 'float32');
  const simd = simdKernels(b)!;
  withScratch(b, h, w, (s) => simd.irfft2_adjoint(heapOffset(b, re), heapOffset(b, im), heapOffset(b, dy), ...scaleArgs(b, scale), planes, h, w, ...s));
  return [re, im];
}

registerOnce(IRFFT2D, { wasm: irfft2dWasm });
registerOnce(IRFFT2D_ADJOINT, { wasm: irfft2dAdjointWasm });

/** Whether the kernels can run here for an h x w image (wasm with our kernels, sizes they take). */
export function hasFftKernels(h: number, w: number): boolean {
  return tf.getBackend() === 'wasm' && kernelSizes(h, w) && simdKernels(tf.backend()) !== null;
}

/** irfft2 of (re, im) times `scale` [h, wf] bin by bin, when given. */
export const irfft2dKernel = (re: tf.Tensor, im: tf.Tensor, h: number, w: number, scale?: tf.Tensor): tf.Tensor =>
  tf.engine().runKernel(IRFFT2D, scale ? { re, im, scale } : { re, im }, { h, w } as unknown as tf.NamedAttrMap) as tf.Tensor;

/** The adjoint, times `scale` bin by bin when given: the gradient of irfft2dKernel with the same scale. */
export const irfft2dAdjointKernel = (dy: tf.Tensor, h: number, w: number, scale?: tf.Tensor): [tf.Tensor, tf.Tensor] =>
  tf.engine().runKernel(IRFFT2D_ADJOINT, scale ? { dy, scale } : { dy }, { h, w } as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor];
