import { tileGrid } from '../image/grid.js';
import { createRaster, type Raster } from '../image/raster.js';

/**
 * One row per filter: its tiles (the dream first when there is one, then the examples), rows
 * of fewer examples padded with blank tiles so the columns line up. Tiled by the same grid
 * every other picture of cnnviz goes through.
 */
export function examplesSheet(rows: Raster[][]): Raster {
  const cols = Math.max(...rows.map((r) => r.length));
  const { width, height, channels } = rows[0][0];
  const blank = createRaster(width, height, channels, 255);
  const tiles = rows.flatMap((r) => [...r, ...Array.from({ length: cols - r.length }, () => blank)]);
  return tileGrid(tiles, { cols, gutter: 3 });
}
