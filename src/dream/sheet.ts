import { tileGrid } from '../image/grid.js';
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

/** Render every unit in batches of `batchSize`. */
export async function dreamUnits(loaded: LoadedModel, spec: BatchSpec, run: RunOptions, onProgress?: (p: DreamProgress) => void): Promise<DreamRun> {
  const batchSize = run.batchSize;
  const batches = splitBatches(spec.units, batchSize);
  const total = batches.length * spec.settings.steps;
  const runs = batches.map((units, b) =>
    renderBatch(loaded, { ...spec, units }, (step, values) =>
      onProgress?.({ done: b * spec.settings.steps + step, total, objective: values.reduce((a, v) => a + v, 0) / values.length }),
    ),
  );
  return mergeRuns(runs);
}

/** One picture for many units: a grid with the unit number under each tile. */
export function dreamSheet(run: DreamRun, opts: { cols?: number; labels?: boolean } = {}): Raster {
  if (run.images.length === 1 && !opts.labels) return run.images[0];
  return tileGrid(run.images, { cols: opts.cols, gutter: 2, labels: opts.labels === false ? undefined : run.units.map(String) });
}
