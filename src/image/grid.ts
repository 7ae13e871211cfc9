import { createRaster, blit, type Raster } from './raster.js';
import { drawText, fillRect, textWidth, GLYPH_HEIGHT } from './font.js';

export interface GridShape {
  rows: number;
  cols: number;
}

/**
 * Near-square layout for n tiles: columns = ⌈√n⌉, then as few rows as fit. Wide rather than
 * tall, because terminals and READMEs are wider than they are high.
 */
export function gridShape(n: number, cols?: number): GridShape {
  if (n <= 0) return { rows: 0, cols: 0 };
  const c = Math.max(1, Math.min(n, cols ?? Math.ceil(Math.sqrt(n))));
  return { rows: Math.ceil(n / c), cols: c };
}

export interface TileGridOptions {
  cols?: number;
  /** Pixels between tiles and around the edge. */
  gutter?: number;
  background?: number[];
  /** One short label per tile, drawn in a strip under it. */
  labels?: string[];
  labelScale?: number;
  /** Enlarge every tile this many times (nearest neighbour) while placing it. */
  scale?: number;
}

/**
 * Lay equally sized tiles out in a grid. Every picture cnnviz writes with more than one panel
 * (feature maps, dream sheets, kernels, tutorial figures) goes through here.
 */
export function tileGrid(tiles: Raster[], opts: TileGridOptions = {}): Raster {
  if (tiles.length === 0) throw new Error('tileGrid: no tiles');
  const { width: tw, height: th, channels } = tiles[0];
  for (const t of tiles) {
    if (t.width !== tw || t.height !== th || t.channels !== channels) {
      throw new Error(`tileGrid: tiles differ in size (${t.width}x${t.height}x${t.channels} vs ${tw}x${th}x${channels})`);
    }
  }
  const scale = opts.labelScale ?? 1;
  const g = gridGeometry(tiles[0], tiles.length, opts);
  const bg = opts.background ?? [255, 255, 255];
  const uniform = bg.every((v) => v === bg[0]);
  const out = createRaster(g.width, g.height, channels, uniform ? bg[0] : 0);
  if (!uniform) fillRect(out, 0, 0, out.width, out.height, bg);
  tiles.forEach((tile, i) => {
    const { x, y } = g.origin(i);
    blit(out, tile, x, y, opts.scale ?? 1);
    const label = opts.labels?.[i];
    if (label) {
      const ink = bg.reduce((a, b) => a + b, 0) / bg.length > 127 ? [0, 0, 0] : [255, 255, 255];
      const lx = x + Math.max(0, Math.floor((g.tileWidth - textWidth(label, scale)) / 2));
      drawText(out, label, lx, y + g.tileHeight + 1, ink, scale);
    }
  });
  return out;
}

/** Where each tile of a grid lands; shared by tileGrid and by anything that reads a grid back. */
export function gridGeometry(tile: { width: number; height: number }, n: number, opts: TileGridOptions = {}) {
  const gutter = opts.gutter ?? 2;
  const labelH = opts.labels ? GLYPH_HEIGHT * (opts.labelScale ?? 1) + 2 : 0;
  const { rows, cols } = gridShape(n, opts.cols);
  const tileWidth = tile.width * (opts.scale ?? 1);
  const tileHeight = tile.height * (opts.scale ?? 1);
  const cellW = tileWidth + gutter;
  const cellH = tileHeight + labelH + gutter;
  return {
    rows,
    cols,
    tileWidth,
    tileHeight,
    width: cols * cellW + gutter,
    height: rows * cellH + gutter,
    origin: (i: number) => ({ x: gutter + (i % cols) * cellW, y: gutter + Math.floor(i / cols) * cellH }),
  };
}
