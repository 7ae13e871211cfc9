import { createRequire } from 'node:module';
import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { registerWasmGradients } from './gradients.js';

import { BACKEND_CHOICES, type BackendName, type BackendRequest } from './choices.js';

export { BACKEND_CHOICES, type BackendName, type BackendRequest } from './choices.js';

/**
 * tfjs greets Node users on stdout/stderr ("Hi there 👋 ... install tfjs-node"), and the
 * wasm loader may log too. Both would corrupt `-o -` and `--json` output, so backend
 * set-up runs with console logging muted.
 */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, warn: console.warn, info: console.info };
  console.log = console.warn = console.info = () => {};
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
  }
}

// Loaded with require, like tfjs itself: node's ES-module import of a CommonJS package first
// scans its whole source for export names, which costs start-up time for nothing.
const require = createRequire(import.meta.url);

let wasmRegistered = false;
function registerWasm(): void {
  if (wasmRegistered) return;
  require('@tensorflow/tfjs-backend-wasm');
  wasmRegistered = true;
}

/**
 * tfjs-node is optional: its install downloads libtensorflow, which fails offline. It is
 * never required, only tried: a missing or half-installed package simply means "absent".
 * The import is computed so TypeScript and bundlers don't try to resolve it.
 */
async function registerTensorflow(): Promise<boolean> {
  if (tf.findBackend('tensorflow')) return true;
  try {
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return tf.findBackend('tensorflow') != null;
  } catch {
    return false;
  }
}

async function trySet(name: BackendName): Promise<boolean> {
  try {
    if (name === 'wasm') registerWasm();
    if (name === 'tensorflow' && !(await registerTensorflow())) return false;
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    // The cpu backend greets on its first tensor write, not at set-up: make that write here,
    // while the console is muted, so the banner never reaches stderr later.
    tf.tensor1d([0]).dispose();
    return true;
  } catch {
    return false;
  }
}

/** The backend tfjs is running on now (after initBackend), for reports and --json. */
export function activeBackend(): string {
  return tf.getBackend();
}

export function parseBackend(value: string | undefined): BackendRequest {
  const v = (value ?? 'auto').toLowerCase();
  if (!(BACKEND_CHOICES as readonly string[]).includes(v)) {
    throw new UsageError(`unknown backend '${value}': choose one of ${BACKEND_CHOICES.join(', ')}`);
  }
  return v as BackendRequest;
}

/**
 * Choose and activate a backend. `auto` prefers native TensorFlow, then wasm, then cpu.
 * The environment variable CNNVIZ_BACKEND stands in when no request is given.
 */
export async function initBackend(request?: BackendRequest | string): Promise<BackendName> {
  const wanted = parseBackend(request ?? process.env.CNNVIZ_BACKEND);
  const order: BackendName[] = wanted === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [wanted];
  const chosen = await quietly(async () => {
    for (const name of order) if (await trySet(name)) return name;
    return undefined;
  });
  if (!chosen) {
    if (wanted === 'tensorflow') {
      throw new UsageError(
        "backend 'tensorflow' is not available: install it with 'npm install @tensorflow/tfjs-node' " +
          '(needs network access to download libtensorflow), or use --backend wasm|cpu',
      );
    }
    throw new UsageError(`backend '${wanted}' could not be started: try --backend cpu`);
  }
  if (chosen === 'wasm') registerWasmGradients();
  return chosen;
}
