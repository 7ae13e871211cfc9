import { type Raster } from '../image/raster.js';
import { type LoadedModel } from '../model/load.js';
import { shorthandExpression } from '../dream/objectives/bind.js';
import { DEFAULTS } from '../dream/render.js';
import { dreamUnits, type DreamProgress } from '../dream/schedule.js';
import { dreamSize, modelInput, renderScaleFor } from '../dream/setup.js';

export { dreamFileFor, readDreams } from './dream-files.js';

/**
 * Each filter's channel dream with the `dream` command's defaults (Lucid's settings, the
 * model's size), so the row starts with the same picture `cnnviz dream` would paint.
 */
export async function paintDreams(loaded: LoadedModel, layerIndex: number, filters: number[], opts: { seed?: number; steps?: number; workers?: number; compiledDir?: string }, onProgress?: (p: DreamProgress) => void): Promise<Raster[]> {
  const settings = { ...DEFAULTS, seed: opts.seed ?? 0, steps: opts.steps ?? DEFAULTS.steps };
  settings.size = dreamSize(modelInput(loaded));
  settings.renderScale = renderScaleFor(loaded, [layerIndex]);
  const run = await dreamUnits(loaded, { objective: { expression: shorthandExpression({ objective: 'channel', layer: layerIndex }) }, units: filters, settings }, { batchSize: 8, workers: opts.workers, compiledDir: opts.compiledDir }, onProgress);
  return run.images;
}
