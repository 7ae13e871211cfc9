import tf = require('@tensorflow/tfjs');
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

/**
 * cnnviz's SIMD kernels (kernels.wat), instantiated on the wasm backend's own memory so they
 * read and write tensors where they lie. tfjs-backend-wasm cannot host custom kernels of its
 * own, and a JavaScript loop over its heap runs at ~2.2 ns an element, no faster than several
 * of its SIMD passes; these run at its speed, in one pass.
 */
export interface SimdKernels {
  /** out = dy where lo < y < hi, else 0; all float32 byte offsets, n elements. */
  band_pass(out: number, dy: number, y: number, n: number, lo: number, hi: number): void;
  /** The gradient of leaky relu (kind 0), elu (1) or sigmoid (2) read off its output y (activation-pass.ts). */
  activation_grad(out: number, dy: number, y: number, n: number, kind: number, alpha: number): void;
  /** MaxPoolGrad over NHWC float32s, routed as tfjs's cpu backend does (wasm-kernels.ts). */
  max_pool_grad(dx: number, dy: number, x: number, batch: number, h: number, w: number, c: number, ho: number, wo: number, fh: number, fw: number, sh: number, sw: number, top: number, left: number): void;
  /** AvgPoolGrad over NHWC float32s, dy times `mult` = 1 / (fh fw) onto every tap inside the input (wasm-kernels.ts). */
  avg_pool_grad(dx: number, dy: number, batch: number, h: number, w: number, c: number, ho: number, wo: number, fh: number, fw: number, sh: number, sw: number, top: number, left: number, mult: number): void;
  /** The redirected gradient (band-pass.ts) over `batch` examples of `per` elements. */
  redirect_pass(out: number, dy: number, y: number, batch: number, per: number, lo: number, hi: number): void;
  /** out[ia][ic][ib][:] = x[ia][ib][ic][:] for x [a, b, c, d] of 4-byte values (a transpose). */
  swap_middle(out: number, x: number, a: number, b: number, c: number, d: number): void;
  /** Bilinear gather (times scale, plus offset) and its adjoint scatter over NHWC pictures (bilinear-sample.ts). */
  sample_gather(out: number, src: number, index: number, weight: number, n: number, p: number, batch: number, c: number, fill: number, scale: number, offset: number, first: number): void;
  sample_scatter(dsrc: number, dy: number, index: number, weight: number, n: number, p: number, batch: number, c: number, scale: number): void;
  /** The gather for c = 3 in SIMD over all but the last output pixel; 0 if it declined. */
  sample_gather3(out: number, src: number, index: number, weight: number, n: number, p: number, batch: number, fill: number, scale: number, offset: number): number;
  /** irfft2 of power-of-two sizes and its adjoint (fft-kernels.ts), times the [h, wf] plane at `scale` when `scaled` is 1; the last seven are scratch offsets. */
  irfft2(out: number, re: number, im: number, scale: number, scaled: number, planes: number, h: number, w: number, ...scratch: number[]): void;
  irfft2_adjoint(re: number, im: number, dy: number, scale: number, scaled: number, planes: number, h: number, w: number, ...scratch: number[]): void;
  /** One Adam update of n floats (adam-step.ts): x', m', v' from x, g, m, v and float32 constants. */
  /** planes [batch, 3, n] / divisor -> pixels [batch, n, 3] times the 3x3 matrix at m, and its adjoint (colour-mix.ts). */
  mix_planes3(out: number, planes: number, batch: number, n: number, m: number, divisor: number): void;
  unmix_planes3(out: number, dy: number, batch: number, n: number, m: number, divisor: number): void;
  /** x [n, h, w, c] onto every sh-th row and sw-th column of a zeroed [n, h sh, w sw, c] (conv-gradients.ts). */
  zero_dilate(out: number, x: number, n: number, h: number, w: number, c: number, sh: number, sw: number): void;
  adam_step(xo: number, mo: number, vo: number, x: number, g: number, m: number, v: number, n: number, b1: number, c1: number, b2: number, c2: number, d1: number, d2: number, eps: number, nlr: number): void;
}

// The few WebAssembly JS API types used here (the project's lib has no DOM types).
interface WasmMemory {
  buffer: ArrayBufferLike;
}
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
}
const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly?: WasmApi };

interface WasmBackendLike {
  wasm: { asm?: { memory?: WasmMemory }; wasmMemory?: WasmMemory };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

let compiled: WasmModule | null | undefined;
const instances = new WeakMap<WasmMemory, SimdKernels | null>();

function compile(): WasmModule | null {
  if (compiled === undefined) {
    try {
      compiled = wasmApi ? new wasmApi.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64')) : null;
    } catch {
      compiled = null; // no SIMD in this engine: callers fall back
    }
  }
  return compiled;
}

/**
 * The kernels bound to `backend`'s heap, or null when it is not tfjs-backend-wasm or its heap
 * is one these cannot import (a threaded build's shared memory).
 */
export function simdKernels(backend: unknown): SimdKernels | null {
  const b = backend as Partial<WasmBackendLike>;
  const memory = b.wasm?.asm?.memory ?? b.wasm?.wasmMemory;
  // By tag, not instanceof: under jest the heap comes from another realm.
  if (!memory || Object.prototype.toString.call(memory.buffer) !== '[object ArrayBuffer]') return null;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    const module = compile();
    kernels = module && wasmApi ? (new wasmApi.Instance(module, { env: { memory } }).exports as unknown as SimdKernels) : null;
    instances.set(memory, kernels);
  }
  return kernels;
}

/** The byte offset of a wasm-backend tensor in the heap. */
export function heapOffset(backend: unknown, t: tf.TensorInfo): number {
  const entry = (backend as WasmBackendLike).dataIdMap.get(t.dataId);
  if (!entry) throw new Error('tensor is not on the wasm backend');
  return entry.memoryOffset;
}
