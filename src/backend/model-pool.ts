import { existsSync } from 'node:fs';
import os from 'node:os';
import tf = require('@tensorflow/tfjs');
import { compiledFile, createWorkerPool, type WorkerPool } from './pool.js';
import { type BackendRequest } from './select.js';

/**
 * How many workers `jobs` jobs on a model get: at most `requested` (default one per core) and
 * no more than the jobs. Workers reload the model from its file, so a model built in memory
 * (no file at `source`) gets none: the caller computes on this thread.
 */
export function modelWorkers(source: string, jobs: number, requested?: number): number {
  return existsSync(source) ? Math.max(1, Math.min(requested ?? os.availableParallelism(), jobs)) : 1;
}

/** A pool of `size` workers (default one per core) running cnnviz's pool worker on this thread's backend; the caller closes it. */
export function createModelPool(size: number | undefined, compiledDir?: string): WorkerPool {
  return createWorkerPool({ size: size ?? os.availableParallelism(), workerFile: compiledFile('backend/pool-worker.js', compiledDir), backend: tf.getBackend() as BackendRequest });
}
