import os from 'node:os';
import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';

/**
 * Work that grows with the image (a convolution of a 100-megapixel photo, activations at
 * --size 4096) is estimated before it starts and refused with a line that says how to make
 * it fit, instead of running for minutes and dying of out-of-memory with a V8 stack trace.
 * The estimates are per pixel, measured on this code (see the functions that make them);
 * they err on the large side.
 */
export interface MemoryNeed {
  /** Bytes the whole process holds at its peak: tensors, decoded images, pictures, PNG. */
  total: number;
  /** Bytes of those in tensors at once: the wasm backend keeps them in one 4 GiB heap. */
  tensors: number;
}

export interface MemoryBudget {
  total: number;
  tensors: number;
  /** Why `tensors` is what it is, for the message. */
  tensorLimit?: string;
}

/** The wasm backend's heap is a 32-bit address space (4 GiB); leave room for the backend's own data. */
const WASM_TENSOR_BYTES = 3.5 * 1024 ** 3;

/**
 * What a command may use: three quarters of the machine's memory (the rest is the OS and
 * whatever else runs), and for tensors on the wasm backend its heap limit. The backend is the
 * one running (none yet: no tensor limit), never started here.
 */
export function memoryBudget(backend: string | undefined = tf.engine().backendName, totalMemory = os.totalmem()): MemoryBudget {
  const total = 0.75 * totalMemory;
  if (backend === 'wasm') return { total, tensors: Math.min(total, WASM_TENSOR_BYTES), tensorLimit: "the wasm backend's heap" };
  return { total, tensors: total };
}

export function formatBytes(bytes: number): string {
  const gb = bytes / 1024 ** 3;
  return gb >= 10 ? `${Math.round(gb)} GB` : gb >= 0.1 ? `${gb.toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;
}

/**
 * Refuse work that would not fit. `what` says what was asked ("convolve on a 16000x16000
 * image"); `remedy(scale)` gives the flag that shrinks the work by the linear factor `scale`
 * (the need grows with the pixel count, so with the square of a side).
 */
export function checkMemory(need: MemoryNeed, what: string, remedy: (scale: number) => string, budget: MemoryBudget = memoryBudget()): void {
  // The wasm heap is the harder wall (no swap, no larger machine helps), so it is named first.
  const limits = [
    { need: need.tensors, have: budget.tensors, of: 'tensor memory', limit: budget.tensorLimit ?? 'this machine can give' },
    { need: need.total, have: budget.total, of: 'memory', limit: 'this machine can give' },
  ];
  const over = limits.find((c) => c.need > c.have);
  if (!over) return;
  // The remedy must satisfy every limit, with a margin for the estimate's rounding.
  const scale = Math.min(...limits.map((c) => (c.need > 0 ? Math.sqrt(c.have / c.need) : Infinity))) * 0.95;
  throw new UsageError(`${what} needs about ${formatBytes(over.need)} of ${over.of}, more than ${over.limit} (${formatBytes(over.have)}): ${remedy(scale)}`);
}
