import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { readImage } from '../image/io.js';
import { type Raster } from '../image/raster.js';
import { type LoadedModel } from '../model/load.js';
import { shorthandExpression } from '../dream/objectives/bind.js';
import { DEFAULTS } from '../dream/render.js';
import { dreamUnits, type DreamProgress } from '../dream/schedule.js';
import { dreamFileName, dreamSize, modelInput, renderScaleFor } from '../dream/setup.js';

const fileSafe = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_');

/** The file `cnnviz dream --layer L --filter F` writes by default: what --with-dream DIR looks for. */
export function dreamFileFor(layerName: string, filter: number): string {
  return dreamFileName({ layer: fileSafe(layerName), units: [filter], objective: 'channel', minimize: false });
}

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

/** Dreams painted before, one file per filter named as `cnnviz dream` names them. */
export async function readDreams(dir: string, layerName: string, filters: number[]): Promise<Raster[]> {
  return Promise.all(
    filters.map((f) => {
      const file = path.join(dir, dreamFileFor(layerName, f));
      if (!existsSync(file)) {
        throw new UsageError(`no dream of filter ${f} in ${dir}: expected ${path.basename(file)} (paint it with cnnviz dream --layer ${layerName} --filter ${f} -o ${file}, or give --with-dream without a folder)`);
      }
      return readImage(file, { channels: 3 });
    }),
  );
}
