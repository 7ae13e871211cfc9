import { colormapLut } from '../image/colormap.js';
import { tileGrid } from '../image/grid.js';
import { createRaster, toRgb, type Raster } from '../image/raster.js';
import { resizeMap, type AttributionMap } from './map.js';

/** How attribution maps become a picture. */
export interface RenderOptions {
  /** The bare map in the colormap, without the photo (default false). */
  raw?: boolean;
  /** The map's opacity over the photo, 0-1 (0.5). */
  alpha?: number;
  /** Colormap name (image/colormap.ts; 'jet'-like 'turbo' is not there: default 'inferno'). */
  cmap?: string;
  /**
   * 'map': each map from 0 to its own maximum of |value| (default); 'global': one range for
   * every map given (`range`, or the largest |value| among them), so maps compare.
   */
  scale?: 'map' | 'global';
  /** The top of the colour range under --scale global (default: the maps' largest |value|). */
  range?: number;
  /** One label per tile (default: none for one map, "label score" for several). */
  labels?: string[];
}

/** The largest |value| of a map. */
export function mapPeak(m: AttributionMap): number {
  let peak = 0;
  for (const v of m.map) peak = Math.max(peak, Math.abs(v));
  return peak;
}

/** One map over (or instead of) the photo, at the photo's size: |value| / top through the colormap. */
export function renderMap(m: AttributionMap, photo: Raster, top: number, opts: RenderOptions = {}): Raster {
  const lut = colormapLut(opts.cmap ?? 'inferno');
  const base = toRgb(photo);
  const { width, height } = base;
  const values = m.width === width && m.height === height ? m.map : resizeMap(m, width, height);
  const alpha = opts.raw ? 1 : opts.alpha ?? 0.5;
  const out = createRaster(width, height, 3);
  for (let i = 0; i < width * height; i++) {
    const t = top > 0 ? Math.min(1, Math.abs(values[i]) / top) : 0;
    const k = Math.round(t * 255) * 3;
    for (let ch = 0; ch < 3; ch++) out.data[i * 3 + ch] = Math.round((1 - alpha) * base.data[i * 3 + ch] + alpha * lut[k + ch]);
  }
  return out;
}

/** Maps of one photo as one picture: a single map, or one labelled tile per map on a grid. */
export function renderMaps(maps: AttributionMap[], photo: Raster, opts: RenderOptions = {}): Raster {
  const globalTop = opts.scale === 'global' ? opts.range ?? Math.max(...maps.map(mapPeak)) : undefined;
  const tiles = maps.map((m) => renderMap(m, photo, globalTop ?? mapPeak(m), opts));
  if (tiles.length === 1 && !opts.labels) return tiles[0];
  const labels = opts.labels ?? maps.map((m) => `${m.label.split(',')[0]} ${m.score.toFixed(1)}`);
  return tileGrid(tiles, { labels, gutter: 4, labelScale: 2, cols: Math.min(tiles.length, 4) });
}
