import { resizeTile } from '../examples/crop.js';
import { drawText, GLYPH_HEIGHT, textWidth } from '../image/font.js';
import { gridGeometry, tileGrid } from '../image/grid.js';
import { blit, createRaster, type Raster } from '../image/raster.js';
import { mapPeak, renderMap, type RenderOptions } from './render.js';
import { type SanityImage, type SanityRun } from './sanity.js';

/**
 * The picture of a sanity run, laid out as Adebayo et al.'s figure 2: the photo, then one row
 * per method and one column per cascade step (the trained model first), each map scaled to its own peak, its
 * Spearman correlation with the trained model's map under it; the column heads name the
 * lowest layer re-initialized so far.
 */

export interface SanityGridOptions extends Pick<RenderOptions, 'cmap'> {
  /** Side of each tile in pixels (default 96). */
  tile?: number;
  /** The map's opacity over the photo (default 1: the bare map, as the paper shows them). */
  alpha?: number;
}

const INK = [0, 0, 0];
const GUTTER = 4;
const LINE = GLYPH_HEIGHT + 3;

/** Cut `text` to `width` pixels of the 3x5 font, keeping its end (layer names differ at the end). */
function fit(text: string, width: number): string {
  const room = Math.max(1, Math.floor((width + 1) / 4));
  return text.length <= room ? text : `.${text.slice(text.length - room + 1)}`;
}

export async function renderSanityGrid(run: SanityRun, image: SanityImage, photo: Raster, opts: SanityGridOptions = {}): Promise<Raster> {
  if (!image.maps) throw new Error('renderSanityGrid: the run kept no maps (keepMaps)');
  const side = opts.tile ?? 96;
  const render = { alpha: opts.alpha ?? 1, cmap: opts.cmap };
  const tiles: Raster[] = [];
  const labels: string[] = [];
  // The photo heads the first column; the rows below it stay blank.
  const blank = createRaster(side, side, 3, 255);
  const shownPhoto = await resizeTile(photo, side);
  for (const [j, row] of image.maps.entries()) {
    tiles.push(j === 0 ? shownPhoto : blank);
    labels.push(j === 0 ? fit(image.label.split(',')[0], side) : '');
    for (const [s, m] of row.entries()) {
      tiles.push(await resizeTile(renderMap(m, photo, mapPeak(m), render), side));
      const r = image.correlations[j][s];
      labels.push(Number.isFinite(r) ? `r ${r.toFixed(2)}` : 'r n/a (flat)');
    }
  }
  const cols = run.steps.length + 1;
  const body = tileGrid(tiles, { cols, labels, gutter: GUTTER });
  const geometry = gridGeometry(tiles[0], tiles.length, { cols, labels, gutter: GUTTER });
  const left = Math.max(...run.methods.map((m) => textWidth(m, 1))) + 2 * GUTTER;
  const top = 2 * LINE + GUTTER;
  const out = createRaster(left + body.width, top + body.height, 3, 255);
  blit(out, body, left, top);
  const total = run.layers.length;
  run.steps.forEach((k, s) => {
    const x = left + geometry.origin(s + 1).x;
    const head = k === 0 ? ['trained', 'weights'] : [`${k}/${total} to`, run.layers[k - 1].name];
    head.forEach((line, i) => drawText(out, fit(line, side), x, GUTTER + i * LINE, INK, 1));
  });
  run.methods.forEach((m, j) => {
    const y = top + geometry.origin(j * cols).y + Math.floor(side / 2) - 2;
    drawText(out, m, GUTTER, y, INK, 1);
  });
  return out;
}
