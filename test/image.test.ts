import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { gridShape, gridGeometry, tileGrid } from '../src/image/grid.js';
import { createRaster, upscaleNearest } from '../src/image/raster.js';
import { colorize, colormapLut } from '../src/image/colormap.js';
import { decodeImage, writeFileAtomic } from '../src/image/io.js';
import { tempDir } from './helpers/models.js';

describe('grid layout', () => {
  test.each([
    [1, 1, 1],
    [3, 2, 2],
    [8, 3, 3],
    [33, 6, 6],
  ])('%i tiles → %i rows × %i cols', (n, rows, cols) => {
    expect(gridShape(n)).toEqual({ rows, cols });
    const tile = createRaster(5, 4, 3, 200);
    const grid = tileGrid(Array.from({ length: n }, () => tile), { gutter: 2 });
    expect(grid.width).toBe(cols * (5 + 2) + 2);
    expect(grid.height).toBe(rows * (4 + 2) + 2);
    // Every tile's pixels land where gridGeometry says, and the gutter stays background.
    const g = gridGeometry(tile, n, { gutter: 2 });
    for (let i = 0; i < n; i++) {
      const { x, y } = g.origin(i);
      expect(grid.data[(y * grid.width + x) * 3]).toBe(200);
      expect(grid.data[((y - 1) * grid.width + x) * 3]).toBe(255);
    }
  });

  test('tiles of different sizes are refused', () => {
    expect(() => tileGrid([createRaster(2, 2, 3), createRaster(3, 2, 3)])).toThrow(/differ in size/);
  });

  test('labels add a strip under each tile with dark ink on light ground', () => {
    const tile = createRaster(20, 10, 3, 128);
    const grid = tileGrid([tile, tile], { labels: ['12', 'ab'], gutter: 1 });
    expect(grid.height).toBe(1 + 10 + 7 + 1);
    const strip = [];
    for (let y = 12; y < 17; y++) for (let x = 0; x < grid.width; x++) strip.push(grid.data[(y * grid.width + x) * 3]);
    expect(strip).toContain(0);
  });
});

describe('rasters and colour', () => {
  test('nearest-neighbour upscale repeats each pixel in a block', () => {
    const src = createRaster(2, 1, 1);
    src.data.set([10, 250]);
    const up = upscaleNearest(src, 3);
    expect([up.width, up.height]).toEqual([6, 3]);
    expect(Array.from(up.data.subarray(12, 18))).toEqual([10, 10, 10, 250, 250, 250]);
  });

  test('colorize stretches [lo, hi] over the table; a flat plane takes the low colour', () => {
    const gray = colormapLut('gray');
    const img = colorize([0, 5, 10], 3, 1, 0, 10, gray);
    expect(Array.from(img.data)).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
    const flat = colorize([3, 3], 2, 1, 3, 3, colormapLut('viridis'));
    expect(Array.from(flat.data.subarray(0, 3))).toEqual(Array.from(colormapLut('viridis').subarray(0, 3)));
  });

  test('unknown colormap names the value and the choices', () => {
    expect(() => colormapLut('rainbow')).toThrow(/unknown colormap 'rainbow'.*viridis/);
  });
});

describe('decoding', () => {
  const rgb = (w: number, h: number, channels: 3 | 4, f: (x: number, y: number) => number[]) => {
    const d = Buffer.alloc(w * h * channels);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d.set(f(x, y), (y * w + x) * channels);
    return sharp(d, { raw: { width: w, height: h, channels } });
  };

  test('colour to gray and gray to colour follow the model', async () => {
    const png = await rgb(4, 2, 3, () => [255, 0, 0]).png().toBuffer();
    const gray = await decodeImage(png, { channels: 1 });
    expect(gray.channels).toBe(1);
    expect(gray.data[0]).toBeGreaterThan(40);
    expect(gray.data[0]).toBeLessThan(90);
    const g = await sharp(Buffer.alloc(8, 77), { raw: { width: 4, height: 2, channels: 1 } }).png().toBuffer();
    const col = await decodeImage(g, { channels: 3 });
    expect(Array.from(col.data.subarray(0, 3))).toEqual([77, 77, 77]);
  });

  test('transparent pixels flatten onto white', async () => {
    const png = await rgb(2, 2, 4, () => [0, 0, 0, 0]).png().toBuffer();
    const img = await decodeImage(png, { channels: 3 });
    expect(Array.from(img.data.subarray(0, 3))).toEqual([255, 255, 255]);
  });

  test('16-bit input comes out as 8-bit samples', async () => {
    const png16 = await rgb(3, 3, 3, () => [200, 100, 50]).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const img = await decodeImage(png16, { channels: 3 });
    expect(img.data.length).toBe(27);
    expect(Math.abs(img.data[0] - 200)).toBeLessThanOrEqual(1);
  });

  test('EXIF orientation is applied before resizing', async () => {
    // 4 wide × 2 high, tagged "rotate 90° clockwise" (orientation 6): it displays 2 wide × 4 high.
    const jpg = await rgb(4, 2, 3, (x) => (x < 2 ? [0, 0, 0] : [255, 255, 255])).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const img = await decodeImage(jpg, { channels: 1 });
    expect([img.width, img.height]).toEqual([2, 4]);
  });

  test('resize fits: cover crops to the size, contain pads, fill stretches', async () => {
    const png = await rgb(40, 20, 3, () => [255, 255, 255]).png().toBuffer();
    for (const fit of ['cover', 'contain', 'fill'] as const) {
      const img = await decodeImage(png, { channels: 3, size: [10, 10], fit });
      expect([img.width, img.height]).toEqual([10, 10]);
      const corner = img.data[0];
      expect(corner).toBe(fit === 'contain' ? 0 : 255);
    }
  });

  test('bytes that are not an image are a usage error naming the source', async () => {
    await expect(decodeImage(Buffer.from('not an image'), { channels: 3 }, 'notes.txt')).rejects.toThrow(/cannot decode notes\.txt/);
  });
});

describe('atomic writes', () => {
  test('the file appears whole and no temporary file is left behind', async () => {
    const dir = tempDir();
    const dest = path.join(dir, 'sub', 'out.bin');
    await writeFileAtomic(dest, Buffer.from('hello'));
    expect(readFileSync(dest, 'utf8')).toBe('hello');
    expect(readdirSync(path.dirname(dest))).toEqual(['out.bin']);
  });

  test('a failed write leaves nothing at the destination', async () => {
    const dir = tempDir();
    const dest = path.join(dir, 'out.png');
    // The destination is an existing non-empty folder: refused before anything is written.
    await writeFileAtomic(path.join(dest, 'inner'), 'x');
    await expect(writeFileAtomic(dest, 'data')).rejects.toThrow(/is a folder: give a file name inside it/);
    expect(readdirSync(dir)).toEqual(['out.png']);
    expect(existsSync(path.join(dest, 'inner'))).toBe(true);
  });
});
