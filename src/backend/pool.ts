import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { RuntimeError, UsageError } from '../errors.js';
import type { BackendRequest } from './select.js';

/**
 * A pool of worker threads, each with its own tfjs backend, for independent jobs (one
 * filter batch of a feature-visualisation sheet, say). wasm runs single-threaded in Node,
 * so separate workers are how a sheet uses every core.
 *
 * A job names a compiled ES module (absolute path or file URL, normally under dist/), an
 * exported function and its structured-cloneable arguments. The worker calls
 * `fn(args, reportProgress)`; the return value is structured-cloned back.
 */
export interface PoolJob<A = unknown> {
  module: string;
  fn: string;
  args: A;
}

export type ReportProgress = (info: unknown) => void;
/**
 * What a job keeps in its worker for the worker's next jobs (a loaded model, say), by a key of
 * its choosing: held by the worker, so job modules need no module-level state of their own.
 */
export type WorkerState = Map<string, unknown>;
/** The shape a job function must have. */
export type PoolJobFunction<A = unknown, R = unknown> = (args: A, reportProgress: ReportProgress, workerState: WorkerState) => R | Promise<R>;

export interface WorkerPoolOptions {
  /** Worker count; default os.availableParallelism(). */
  size?: number;
  /** Backend each worker initialises; default CNNVIZ_BACKEND or 'auto'. */
  backend?: BackendRequest;
  /** Called on the main thread for every reportProgress() in a worker. */
  onProgress?: (jobId: number, info: unknown) => void;
  /** The compiled worker script; default pool-worker.js beside this module. */
  workerFile?: string;
}

export interface WorkerPool {
  readonly size: number;
  /**
   * Run one job; resolves after all of its progress reports have been delivered (to
   * `onProgress` when given, else to the pool's).
   */
  run<R = unknown>(job: PoolJob, options?: { jobId?: number; signal?: AbortSignal; onProgress?: (info: unknown) => void }): Promise<R>;
  /** Run jobs concurrently (job i has jobId i); results in job order. */
  runAll<R = unknown>(jobs: PoolJob[]): Promise<R[]>;
  close(): Promise<void>;
}

/** What the worker receives per job. */
export interface WorkerTask {
  module: string;
  fn: string;
  args: unknown;
  port: MessagePort;
}

export interface WorkerInit {
  backend: string;
}

/**
 * Workers run compiled JS: the worker beside this file, which under dist/ is the built one.
 * Code running from TypeScript source (the test runner) names the built file with `workerFile`.
 */
export function poolWorkerFile(): string {
  const beside = fileURLToPath(new URL('./pool-worker.js', import.meta.url));
  if (existsSync(beside)) return beside;
  throw new RuntimeError(`worker pool: ${beside} is missing; build the project first (npm run build)`);
}

/**
 * The compiled library file `file` (relative to the library's root, e.g. 'dream/job.js') that
 * workers run: under `compiledDir` when given (code running from TypeScript source, as the test
 * runner does, names dist/), else in this build.
 */
export function compiledFile(file: string, compiledDir?: string): string {
  return compiledDir ? path.join(compiledDir, file) : fileURLToPath(new URL(`../${file}`, import.meta.url));
}

/** A job module given as a path or a file URL, as an import()-able URL. */
export function jobModuleUrl(module: string): string {
  if (/^file:/.test(module)) return module;
  if (!path.isAbsolute(module)) throw new UsageError(`worker pool: job module must be an absolute path or file URL, got '${module}'`);
  return pathToFileURL(module).href;
}

export function createWorkerPool(options: WorkerPoolOptions = {}): WorkerPool {
  const size = Math.max(1, Math.floor(options.size ?? os.availableParallelism()));
  const init: WorkerInit = { backend: options.backend ?? process.env.CNNVIZ_BACKEND ?? 'auto' };
  const piscina = new Piscina({
    filename: pathToFileURL(options.workerFile ?? poolWorkerFile()).href,
    minThreads: size,
    maxThreads: size,
    // One job per worker at a time: jobs are CPU-bound and tfjs state is per thread.
    concurrentTasksPerWorker: 1,
    idleTimeout: Infinity,
    workerData: init,
  });
  let nextId = 0;

  async function run<R>(job: PoolJob, opts: { jobId?: number; signal?: AbortSignal; onProgress?: (info: unknown) => void } = {}): Promise<R> {
    const jobId = opts.jobId ?? nextId++;
    const module = jobModuleUrl(job.module);
    const { port1, port2 } = new MessageChannel();
    // The worker's last message is {done}: progress travels on its own port, so without it
    // a report could arrive after the result.
    const drained = new Promise<void>((resolve) => {
      port1.on('message', (msg: { info?: unknown; done?: boolean }) => {
        if (msg.done) resolve();
        else if (opts.onProgress) opts.onProgress(msg.info);
        else options.onProgress?.(jobId, msg.info);
      });
    });
    const task: WorkerTask = { module, fn: job.fn, args: job.args, port: port2 };
    try {
      const result = (await piscina.run(task, { transferList: [port2], signal: opts.signal ?? null })) as R;
      await drained;
      return result;
    } finally {
      port1.close();
    }
  }

  return {
    size,
    run,
    runAll: <R>(jobs: PoolJob[]) => Promise.all(jobs.map((job, i) => run<R>(job, { jobId: i }))),
    close: () => piscina.destroy(),
  };
}
