import { channelStats, renderFeatureGrid, tileScale, topChannels } from '../src/image/feature-grid.js';
import { colorize, colormapLut } from '../src/image/colormap.js';
import { gridGeometry, tileGrid } from '../src/image/grid.js';

/** Two 2×2 channels: channel 0 spans 0..1, channel 1 spans 0..0.5. */
const maps = { values: Float32Array.from([0, 0, 1, 0.5, 0, 0, 1, 0.5]), shape: [2, 2, 2] };

function brightest(img: ReturnType<typeof renderFeatureGrid>, tile: number): number {
  const g = gridGeometry({ width: 64, height: 64 }, 2, { gutter: 2 });
  const { x, y } = g.origin(tile);
  let max = 0;
  for (let dy = 0; dy < 64; dy++) for (let dx = 0; dx < 64; dx++) max = Math.max(max, img.data[((y + dy) * img.width + x + dx) * 3]);
  return max;
}

describe('feature grids', () => {
  test('statistics per channel', () => {
    expect(channelStats(maps)).toEqual([
      { min: 0, max: 1, mean: 0.5 },
      { min: 0, max: 0.5, mean: 0.25 },
    ]);
    expect(topChannels(channelStats(maps), 1)).toEqual([0]);
  });

  test('layer scale shares one range: the weaker channel stays dimmer', () => {
    const img = renderFeatureGrid(maps, { scale: 'layer', cmap: 'gray' });
    expect(brightest(img, 0)).toBe(255);
    expect(brightest(img, 1)).toBe(128);
  });

  test('channel scale stretches each tile to its own range', () => {
    const img = renderFeatureGrid(maps, { scale: 'channel', cmap: 'gray' });
    expect(brightest(img, 0)).toBe(255);
    expect(brightest(img, 1)).toBe(255);
  });

  test('small maps are enlarged to the tile size with hard pixel edges', () => {
    const img = renderFeatureGrid(maps, { cmap: 'gray', tileSize: 64 });
    const g = gridGeometry({ width: 64, height: 64 }, 2, { gutter: 2 });
    expect([img.width, img.height]).toEqual([g.width, g.height]);
    const { x, y } = g.origin(0);
    // Channel 0 is 0 in its left map column and 1 in its right: each fills a 32 px wide block.
    expect(img.data[(y * img.width + x + 31) * 3]).toBe(0);
    expect(img.data[(y * img.width + x + 32) * 3]).toBe(255);
  });

  test('a vector becomes a strip of cells, wrapped at 32', () => {
    const v = { values: Float32Array.from({ length: 40 }, (_, i) => i), shape: [40] };
    const img = renderFeatureGrid(v, { tileSize: 64 });
    expect(img.width).toBe(32 * 17 + 1);
    expect(img.height).toBe(2 * 17 + 1);
  });

  test("a 1x1 map (a graph model's [1, 1, N] logits) is drawn as the same strip as the vector [N]", () => {
    const values = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i));
    const strip = renderFeatureGrid({ values, shape: [1001] }, { tileSize: 64 });
    const map = renderFeatureGrid({ values, shape: [1, 1, 1001] }, { tileSize: 64 });
    // 1001 cells in rows of 32: 32 columns and 32 rows of 17 px, not 1001 tiles of 64 px.
    expect([map.width, map.height]).toEqual([32 * 17 + 1, 32 * 17 + 1]);
    expect(Buffer.from(map.data).equals(Buffer.from(strip.data))).toBe(true);
  });

  test("a map of extreme shape (a damaged model's 100000x4) is not enlarged past 4096 px on its long side", () => {
    const fm = { values: new Float32Array(100000 * 4 * 2), shape: [100000, 4, 2] };
    const img = renderFeatureGrid(fm, { tileSize: 64 });
    // Enlarging the 4-px side to 64 would make 1.6 million px tall tiles (2.4 GB of picture).
    expect(img.height).toBeLessThan(100000 + 10);
    expect(img.width).toBeLessThan(2 * 4 * 2 + 10);
    expect(tileScale(100000, 4, 64)).toBe(1);
    // Ordinary maps are enlarged as before: 7x7 ten times, to 70 px.
    expect(tileScale(7, 7, 64)).toBe(10);
    expect(tileScale(2000, 40, 64)).toBe(2);
  });

  // renderFeatureGrid draws straight into the grid for speed; composing the shared pieces
  // (one colorize per channel, then tileGrid) is the plain statement of what it must draw.
  test.each([
    ['7x5x6, enlarged, layer scale', [7, 5, 6], undefined, 'layer', 'viridis'],
    ['3x3x10, channel scale, a subset in a new order', [3, 3, 10], [9, 2, 4, 0, 7], 'channel', 'magma'],
    ['70x66x3, not enlarged (gutter 1)', [70, 66, 3], undefined, 'layer', 'rdbu'],
    ['1x9x5, a one-row map', [1, 9, 5], [4, 3], 'channel', 'gray'],
  ] as const)('the grid of %s is, pixel for pixel, the tiles laid out by tileGrid', (_, shape, subset, scale, cmap) => {
    const [h, w, c] = shape;
    const values = Float32Array.from({ length: h * w * c }, (_, i) => Math.sin(i * 12.9898) * 3 - 0.5);
    values[5] = NaN;
    for (let p = 0; p < h * w; p++) values[p * c + 1] = 2.5; // a flat channel: no range of its own
    const fm = { values, shape: [...shape] };
    const img = renderFeatureGrid(fm, { channels: subset ? [...subset] : undefined, scale, cmap, tileSize: 20 });

    const stats = channelStats(fm);
    const shown = subset ? [...subset] : Array.from({ length: c }, (_, k) => k);
    const lo = Math.min(...shown.map((k) => stats[k].min));
    const hi = Math.max(...shown.map((k) => stats[k].max));
    const lut = colormapLut(cmap);
    const tiles = shown.map((k) => {
      const plane = Float32Array.from({ length: h * w }, (_, p) => values[p * c + k]);
      return scale === 'channel' ? colorize(plane, w, h, stats[k].min, stats[k].max, lut) : colorize(plane, w, h, lo, hi, lut);
    });
    const factor = tileScale(h, w, 20);
    const expected = tileGrid(tiles, { gutter: factor > 1 ? 2 : 1, scale: factor });
    expect([img.width, img.height]).toEqual([expected.width, expected.height]);
    expect(Buffer.from(img.data).equals(Buffer.from(expected.data))).toBe(true);
  });

  test('values exactly halfway between two colours, NaN and the ends round as colorize rounds them', () => {
    // Channel range 0..255, so each value is its own colour index before rounding.
    const values = Float32Array.from([0, 255, 0.5, 1.5, 127.5, 254.5, 254.49998474121094, NaN, 2.4999998, -0]);
    const fm = { values, shape: [1, values.length, 1] };
    const img = renderFeatureGrid(fm, { scale: 'channel', cmap: 'gray', tileSize: 1 });
    const want = colorize(values, values.length, 1, 0, 255, colormapLut('gray'));
    const rows = Array.from({ length: values.length }, (_, x) => img.data[(1 * img.width + 1 + x) * 3]);
    expect(rows).toEqual(Array.from({ length: values.length }, (_, x) => want.data[x * 3]));
    expect(rows.slice(0, 8)).toEqual([0, 255, 1, 2, 128, 255, 254, 0]);
  });

  test('statistics handed in are used as given (the caller computed them once)', () => {
    const given = channelStats(maps).map((s) => ({ ...s, max: s.max * 2 }));
    // With channel 0's max doubled, its brightest value 1 is mid-gray instead of white.
    expect(brightest(renderFeatureGrid(maps, { scale: 'channel', cmap: 'gray', stats: given }), 0)).toBe(128);
  });
});
