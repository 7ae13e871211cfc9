import os from 'node:os';
import tf = require('@tensorflow/tfjs');
import { createWorkerPool } from '../backend/pool.js';
import { type BackendRequest } from '../backend/select.js';
import { RuntimeError } from '../errors.js';
import { tileGrid } from '../image/grid.js';
import { dreamJobModule, type DreamJobArgs, type DreamJobProgress } from './job.js';
import { type Raster } from '../image/raster.js';
import { type LoadedModel } from '../model/load.js';
import { dreamBatch, type DreamSettings } from './render.js';
import { dreamTarget, modelInput, startTensor } from './setup.js';

export interface DreamRun {
  units: number[];
  images: Raster[];
  objectives: number[];
  /** frames[f][u]: unit u's picture at the f-th kept step. */
  frames: Raster[][];
  /** Worker threads the batches ran on (1: this thread). */
  workers?: number;
}

export interface BatchSpec {
  layerIndex: number;
  units: number[];
  settings: DreamSettings;
  start?: Raster;
}

/**
 * Units are split into batches of a fixed size (not one per core), so the output of a seed
 * depends on the batch size only, never on how many workers happened to run it.
 */
export function splitBatches(units: number[], batchSize: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < units.length; i += batchSize) out.push(units.slice(i, i + batchSize));
  return out;
}

/** Render one batch in this thread (the unit of work a pool worker runs too). */
export function renderBatch(loaded: LoadedModel, spec: BatchSpec, onStep?: (step: number, objectives: number[]) => void): DreamRun {
  const { target } = dreamTarget(loaded, spec.layerIndex, spec.settings.objective, spec.settings.at);
  const start = spec.start ? startTensor(spec.start) : undefined;
  try {
    const r = dreamBatch(target, modelInput(loaded), spec.units, spec.settings, onStep, start);
    return { units: spec.units, ...r };
  } finally {
    start?.dispose();
  }
}

/** Stitch batch results back into unit order. */
export function mergeRuns(runs: DreamRun[]): DreamRun {
  return {
    units: runs.flatMap((r) => r.units),
    images: runs.flatMap((r) => r.images),
    objectives: runs.flatMap((r) => r.objectives),
    frames: runs[0]?.frames.map((_, f) => runs.flatMap((r) => r.frames[f] ?? [])) ?? [],
  };
}

export interface DreamProgress {
  /** Steps done, summed over batches. */
  done: number;
  total: number;
  /** Mean objective of the batch that just stepped. */
  objective: number;
}

export interface RunOptions {
  batchSize: number;
  /** Worker threads (default: one per core); 1 runs in this thread. */
  workers?: number;
  /** The --input-range flag, passed on so workers load the model the same way. */
  inputRange?: string;
}

/** Render every unit in batches of `batchSize`, spread over a worker pool when there are several. */
export async function dreamUnits(loaded: LoadedModel, spec: BatchSpec, run: RunOptions, onProgress?: (p: DreamProgress) => void): Promise<DreamRun> {
  const batches = splitBatches(spec.units, run.batchSize);
  const steps = spec.settings.steps;
  const total = batches.length * steps;
  const workers = Math.min(run.workers ?? os.availableParallelism(), batches.length);
  if (workers <= 1) {
    const runs = batches.map((units, b) =>
      renderBatch(loaded, { ...spec, units }, (step, values) => onProgress?.({ done: b * steps + step, total, objective: mean(values) })),
    );
    return { ...mergeRuns(runs), workers: 1 };
  }
  const done = batches.map(() => 0);
  const pool = createWorkerPool({
    size: workers,
    backend: tf.getBackend() as BackendRequest,
    onProgress: (job, info) => {
      const p = info as DreamJobProgress;
      done[job] = p.step;
      onProgress?.({ done: done.reduce((a, v) => a + v, 0), total, objective: p.objective });
    },
  });
  try {
    const jobs = batches.map((units) => ({
      module: dreamJobModule(),
      fn: 'dreamBatchJob',
      args: { model: loaded.source, inputRange: loaded.meta.inputRange, spec: { ...spec, units } } satisfies DreamJobArgs,
    }));
    return { ...mergeRuns(await pool.runAll<DreamRun>(jobs)), workers };
  } catch (err) {
    // Errors cross the thread boundary as plain Errors: keep the one-line message and exit code.
    const message = String((err as Error)?.message ?? err).split('\n')[0];
    throw /objective became/.test(message) ? new RuntimeError(message) : err;
  } finally {
    await pool.close();
  }
}

const mean = (values: number[]) => values.reduce((a, v) => a + v, 0) / values.length;

/** One picture for many units: a grid with the unit number under each tile. */
export function dreamSheet(run: DreamRun, opts: { cols?: number; labels?: boolean } = {}): Raster {
  if (run.images.length === 1 && !opts.labels) return run.images[0];
  return tileGrid(run.images, { cols: opts.cols, gutter: 2, labels: opts.labels === false ? undefined : run.units.map(String) });
}
