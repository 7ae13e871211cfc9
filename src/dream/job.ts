import { type ReportProgress, type WorkerState } from '../backend/pool.js';
import { RuntimeError, UsageError } from '../errors.js';
import { loadModel, type LoadedModel } from '../model/load.js';
import { type InputRange } from '../model/meta.js';
import { renderBatch, type BatchSpec, type DreamRun } from './batch.js';

/** What a pool worker needs to render one batch: where the model is, and the batch. */
export interface DreamJobArgs {
  model: string;
  inputRange: InputRange;
  spec: BatchSpec;
}

export interface DreamJobProgress {
  step: number;
  objective: number;
}

/**
 * A usage or runtime error, as data: an Error crossing the thread boundary arrives as a
 * plain Error, and its class (so the exit code) would be lost.
 */
export interface DreamJobError {
  kind: 'usage' | 'runtime';
  message: string;
}

export type DreamJobResult = { run: DreamRun } | { error: DreamJobError };

/** Pool job: load (once) and render one batch, reporting every step. */
export async function dreamBatchJob(args: DreamJobArgs, report: ReportProgress, workerState: WorkerState): Promise<DreamJobResult> {
  // One model per worker, loaded on its first job and kept for the next ones.
  const key = `dream-model|${args.model}|${args.inputRange.join(',')}`;
  try {
    let loading = workerState.get(key) as Promise<LoadedModel> | undefined;
    if (!loading) workerState.set(key, (loading = loadModel(args.model, { inputRange: args.inputRange })));
    const loaded = await loading;
    return { run: renderBatch(loaded, args.spec, (step, values) => report({ step, objective: values.reduce((a, v) => a + v, 0) / values.length } satisfies DreamJobProgress)) };
  } catch (err) {
    if (err instanceof UsageError) return { error: { kind: 'usage', message: err.message } };
    if (err instanceof RuntimeError) return { error: { kind: 'runtime', message: err.message } };
    throw err;
  }
}
