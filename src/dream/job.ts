import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ReportProgress } from '../backend/pool.js';
import { loadModel, type LoadedModel } from '../model/load.js';
import { type InputRange } from '../model/meta.js';
import { renderBatch, type BatchSpec, type DreamRun } from './sheet.js';

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

// One model per worker, loaded on its first job and kept for the next ones.
const models = new Map<string, Promise<LoadedModel>>();

/** Pool job: load (once) and render one batch, reporting every step. */
export async function dreamBatchJob(args: DreamJobArgs, report: ReportProgress): Promise<DreamRun> {
  const key = `${args.model}|${args.inputRange.join(',')}`;
  let loading = models.get(key);
  if (!loading) models.set(key, (loading = loadModel(args.model, { inputRange: args.inputRange })));
  const loaded = await loading;
  return renderBatch(loaded, args.spec, (step, values) => report({ step, objective: values.reduce((a, v) => a + v, 0) / values.length } satisfies DreamJobProgress));
}

/** This module compiled (workers import JS; under ts-jest this file is the .ts source). */
export function dreamJobModule(): string {
  const here = fileURLToPath(import.meta.url);
  const js = here.replace(/\.ts$/, '.js');
  if (existsSync(js) && js.endsWith('.js')) return js;
  const parts = path.dirname(here).split(path.sep);
  const src = parts.lastIndexOf('src');
  if (src >= 0) parts[src] = 'dist';
  return path.join(parts.join(path.sep), 'job.js');
}
