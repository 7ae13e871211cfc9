import { type Raster } from '../image/raster.js';
import { type LoadedModel } from '../model/load.js';
import { bindObjective, describeObjective } from './objectives/bind.js';
import { type Objective, type ObjectiveEnv } from './objectives/objective.js';
import { parseObjective } from './objectives/parse.js';
import { createProbe } from './probe.js';
import { photoActivations } from './photo.js';
import { dreamBatch, rowPictures, unitPictures, type DreamSettings, type Pictures } from './render.js';
import { modelInput, startTensor } from './setup.js';

export interface DreamRun {
  /** The unit each picture serves (its index in the row when the objective names no unit). */
  units: number[];
  images: Raster[];
  objectives: number[];
  /** frames[f][i]: picture i at the f-th kept step. */
  frames: Raster[][];
  /** Pictures per unit (--diversity), side by side: a sheet has one row per unit. */
  copies?: number;
  /** Worker threads the batches ran on (1: this thread). */
  workers?: number;
}

/** What a dream maximizes, as data a worker thread can receive: the expression and what it refers to. */
export interface ObjectiveSpec {
  /** An objective expression (docs/dream.md); `unit` stands for each picture's unit. */
  expression: string;
  /** The photo caricature(...) reads (--from), at the dream's size. */
  photo?: Raster;
  /** The vector direction(...) follows (--direction, --direction-from). */
  direction?: number[];
}

export interface BatchSpec {
  objective: ObjectiveSpec;
  /** Units `unit` stands for, one picture each (times `copies`); ignored when the expression names none. */
  units: number[];
  /** Pictures of each unit, pushed apart by a diversity term (--diversity); default 1. */
  copies?: number;
  settings: DreamSettings;
  start?: Raster;
}

/** The objective of a batch, bound to its pictures' units, and the pictures it renders. */
export function bindBatch(loaded: LoadedModel, spec: BatchSpec): { objective: Objective; pictures: Pictures } {
  const node = parseObjective(spec.objective.expression);
  const about = describeObjective(loaded, node);
  const copies = spec.copies ?? 1;
  const photo = spec.objective.photo ? startTensor(spec.objective.photo) : undefined;
  try {
    const ctx = { env: { activations: (picture, read) => photoActivations(loaded, picture, read, spec.settings.renderScale) } satisfies ObjectiveEnv, photo, direction: spec.objective.direction, border: spec.settings.optimizer === 'sgd-l2' ? 2 : 0 };
    if (about.usesUnit) {
      const pictures = unitPictures(spec.units, copies);
      return { objective: bindObjective(loaded, node, { ...ctx, units: pictures.keys.map((k) => k[0]) }), pictures };
    }
    const objective = bindObjective(loaded, node, ctx);
    return { objective, pictures: objective.pictures ? rowPictures(objective.pictures) : unitPictures([0], copies) };
  } finally {
    photo?.dispose();
  }
}

/** Render one batch in this thread (the unit of work a pool worker runs too). */
export function renderBatch(loaded: LoadedModel, spec: BatchSpec, onStep?: (step: number, objectives: number[]) => void): DreamRun {
  const { objective, pictures } = bindBatch(loaded, spec);
  const start = spec.start ? startTensor(spec.start) : undefined;
  try {
    const probe = objective.reads.length ? createProbe(loaded, objective.reads) : undefined;
    const r = dreamBatch(probe, objective, modelInput(loaded), pictures, spec.settings, onStep, start);
    return { units: pictures.keys.map((k) => k[0]), copies: spec.copies ?? 1, ...r };
  } finally {
    start?.dispose();
    objective.dispose?.();
  }
}
