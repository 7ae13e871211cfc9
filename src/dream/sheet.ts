import { tileGrid } from '../image/grid.js';
import { type Raster } from '../image/raster.js';
import { type DreamRun } from './batch.js';

/** One picture for many units: a grid with the unit number under each tile. */
export function dreamSheet(run: DreamRun, opts: { cols?: number; labels?: boolean } = {}): Raster {
  if (run.images.length === 1 && !opts.labels) return run.images[0];
  // --diversity's copies of a unit make its row.
  const copies = run.copies ?? 1;
  return tileGrid(run.images, { cols: opts.cols ?? (copies > 1 ? copies : undefined), gutter: 2, labels: opts.labels === false ? undefined : run.units.map(String) });
}
