import { workerData } from 'node:worker_threads';
import { initBackend } from './select.js';
import type { PoolJobFunction, WorkerInit, WorkerState, WorkerTask } from './pool.js';

/**
 * Piscina worker: starts this thread's tfjs backend once, then runs jobs. Job modules are
 * imported once per worker (import() caches); what a job keeps for the next ones (a loaded
 * model, say) goes in the worker's `workerState`, handed to every job.
 */
let ready: Promise<string> | undefined;
const workerState: WorkerState = new Map();

async function startBackend(request: string): Promise<string> {
  if (request === 'wasm' || request === 'auto') {
    // Each worker is one core's worth of work; wasm threads would oversubscribe. (In Node
    // the wasm backend is single-threaded today; this keeps it so.)
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setThreadsCount?.(1);
  }
  return initBackend(request);
}

export default async function runJob(task: WorkerTask): Promise<unknown> {
  const { port } = task;
  try {
    ready ??= startBackend((workerData as WorkerInit | undefined)?.backend ?? 'auto');
    await ready;
    const mod = (await import(task.module)) as Record<string, unknown>;
    const fn = mod[task.fn];
    if (typeof fn !== 'function') {
      throw new Error(`worker pool: ${task.module} has no exported function '${task.fn}' (exports: ${Object.keys(mod).join(', ') || 'none'})`);
    }
    const report = (info: unknown) => port.postMessage({ info });
    return await (fn as PoolJobFunction)(task.args, report, workerState);
  } finally {
    port.postMessage({ done: true });
    port.close();
  }
}
