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

