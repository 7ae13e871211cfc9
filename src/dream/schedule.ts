import os from 'node:os';
import { createModelPool } from '../backend/model-pool.js';
import { compiledFile, type WorkerPool } from '../backend/pool.js';
import { RuntimeError, UsageError } from '../errors.js';
import { type LoadedModel } from '../model/load.js';
import { renderBatch, type BatchSpec, type DreamRun } from './batch.js';
import type { DreamJobArgs, DreamJobError, DreamJobProgress, DreamJobResult } from './job.js';

/**
 * Units are split into batches of a fixed size (not one per core), so the output of a seed
 * depends on the batch size only, never on how many workers happened to run it.
 */
export function splitBatches(units: number[], batchSize: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < units.length; i += batchSize) out.push(units.slice(i, i + batchSize));
  return out;
}

/** Stitch batch results back into unit order. */
export function mergeRuns(runs: DreamRun[]): DreamRun {
  return {
    units: runs.flatMap((r) => r.units),
    images: runs.flatMap((r) => r.images),
    objectives: runs.flatMap((r) => r.objectives),
    frames: runs[0]?.frames.map((_, f) => runs.flatMap((r) => r.frames[f] ?? [])) ?? [],
    copies: runs[0]?.copies,
  };
}

export interface DreamProgress {
  /**
   * Steps done, averaged over the batches (fractional while they are at different steps):
   * it runs from 0 to `total` once, however many batches there are and however many workers
   * run them, so "step 33/512" means what --steps 512 says.
   */
  done: number;
  /** The optimization steps asked for (settings.steps). */
  total: number;
  /** How many batches the units were split into. */
  batches: number;
  /** Mean objective of the batch that just stepped. */
  objective: number;
}

export interface RunOptions {
  batchSize: number;
  /** Worker threads (default: one per core); 1 runs in this thread. */
  workers?: number;
  /**
   * The folder of the compiled library whose job module and worker script the workers run (they
   * run JS): default the one this module belongs to. Code running from TypeScript source (the
   * test runner) names the built one, dist/.
   */
  compiledDir?: string;
  /**
   * A pool from createDreamPool to run the batches on, kept open for the caller's next runs
   * (a report's many runs pay the workers' start-up, tfjs and the model, once); `workers`
   * is then the pool's size.
   */
  pool?: WorkerPool;
}

/** A worker pool for dream batches, of `workers` threads (default one per core); the caller closes it. */
export function createDreamPool(run: Pick<RunOptions, 'workers' | 'compiledDir'>): WorkerPool {
  return createModelPool(run.workers, run.compiledDir);
}

/** Render every unit in batches of `batchSize`, spread over a worker pool when there are several. */
export async function dreamUnits(loaded: LoadedModel, spec: BatchSpec, run: RunOptions, onProgress?: (p: DreamProgress) => void): Promise<DreamRun> {
  // --batch counts pictures: a unit's --diversity copies stay in one batch, as they are compared.
  const batches = splitBatches(spec.units.length ? spec.units : [0], Math.max(1, Math.floor(run.batchSize / (spec.copies ?? 1))));
  const total = spec.settings.steps;
  const progress = (stepsPerBatch: number[], objective: number) =>
    onProgress?.({ done: stepsPerBatch.reduce((a, v) => a + v, 0) / batches.length, total, batches: batches.length, objective });
  const done = batches.map(() => 0);
  const workers = run.pool ? Math.min(run.pool.size, batches.length) : Math.min(run.workers ?? os.availableParallelism(), batches.length);
  if (workers <= 1 && !run.pool) {
    const runs = batches.map((units, b) =>
      renderBatch(loaded, { ...spec, units }, (step, values) => {
        done[b] = step;
        progress(done, mean(values));
      }),
    );
    return { ...mergeRuns(runs), workers: 1 };
  }
  const pool = run.pool ?? createDreamPool({ ...run, workers });
  try {
    const module = compiledFile('dream/job.js', run.compiledDir);
    const runs = batches.map((units, b) =>
      pool
        .run<DreamJobResult>(
          { module, fn: 'dreamBatchJob', args: { model: loaded.source, inputRange: loaded.meta.inputRange, spec: { ...spec, units } } satisfies DreamJobArgs },
          {
            onProgress: (info) => {
              const p = info as DreamJobProgress;
              done[b] = p.step;
              progress(done, p.objective);
            },
          },
        )
        .then((r) => {
          // Fail on the first error, as a throw would, instead of after every other batch.
          if ('error' in r) throw jobError(r.error);
          return r.run;
        }),
    );
    return { ...mergeRuns(await Promise.all(runs)), workers };
  } finally {
    if (!run.pool) await pool.close();
  }
}

/** The error a job reported, as the class it was thrown as (so with its exit code). */
function jobError(error: DreamJobError): UsageError | RuntimeError {
  return error.kind === 'usage' ? new UsageError(error.message) : new RuntimeError(error.message);
}

const mean = (values: number[]) => values.reduce((a, v) => a + v, 0) / values.length;

