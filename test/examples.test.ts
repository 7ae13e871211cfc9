import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { loadModel } from '../src/model/load.js';
import { loadModelInput, probeActivations } from '../src/model/probe.js';
import { nominalBox, receptiveFields, type LayerField } from '../src/model/receptive-field.js';
import { inputBoxToPhoto as indexInputBoxToPhoto } from '../src/dataset-index/query.js';
import { clipBox, inputBoxToPhoto } from '../src/examples/geometry.js';
import { gridGeometry } from '../src/image/grid.js';
import { loadedModules, runCli } from './helpers/cli.js';
import { saveModelTo, tempDir, validConvModel } from './helpers/models.js';

/** Photos of different sizes and brightness blobs, so filters rank them differently. */
async function writePhotos(dir: string, n: number): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const [w, h] = [40 + 7 * i, 32 + 5 * ((i * 3) % 4)];
    const px = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = (x * (i + 1) * 37 + y * (c + 2) * 53 + i * 71) % 256;
    const file = path.join(dir, `p${String(i).padStart(2, '0')}.png`);
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
    files.push(file);
  }
  return files;
}

describe('cnnviz examples', () => {
  let dir: string;
  let model: string;
  let photos: string[];
  let idx: string;
  beforeAll(async () => {
    await initBackend('wasm');
    dir = tempDir();
    model = await saveModelTo(validConvModel(), path.join(dir, 'model'), { inputRange: [0, 1] });
    photos = await writePhotos(path.join(dir), 7);
    // The index every --index test reads (each test must run alone with -t).
    idx = path.join(dir, 'photos.idx');
    const built = await runCli(['index', ...photos, '-m', model, '--layers', 'c2', '-o', idx, '--workers', '1', '--backend', 'wasm']);
    expect(built.code).toBe(0);
  }, 120000);

  test('the fit geometry undone agrees with the index’s own (clipped) mapping', () => {
    const photo = { width: 128, height: 228 };
    for (const fit of ['cover', 'contain', 'fill'] as const) {
      const input = { width: 224, height: 224, fit };
      const box = { top: -14, left: 146, bottom: 76, right: 236 };
      const mine = clipBox(inputBoxToPhoto(box, photo, input), photo.width, photo.height)!;
      const theirs = indexInputBoxToPhoto({ x0: box.left, y0: box.top, x1: box.right + 1, y1: box.bottom + 1 }, photo, input);
      expect([fit, mine.left, mine.top, mine.right + 1, mine.bottom + 1]).toEqual([fit, theirs.x0, theirs.y0, theirs.x1, theirs.y1]);
    }
  });

  test('--json on the fly: the brute-force top 3 of a filter, with the receptive field as crop box', async () => {
    const r = await runCli(['examples', dir, '-m', model, '--layer', 'c2', '--filter', '1', '-k', '3', '--json', '--backend', 'wasm']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout.toString());
    // Brute force: every photo through the model, the channel's maximum and where it is.
    const loaded = await loadModel(model);
    const layer = loaded.graph.layers.findIndex((l) => l.name === 'c2');
    const brute: { file: string; value: number; y: number; x: number }[] = [];
    for (const file of photos) {
      const { tensor } = await loadModelInput(loaded, file);
      const a = probeActivations(loaded, tensor, [layer]).activations[0] as tf.Tensor4D;
      const [, h, w, c] = a.shape;
      const v = a.dataSync();
      let best = -Infinity;
      let at = 0;
      for (let p = 0; p < h * w; p++) if (v[p * c + 1] > best) [best, at] = [v[p * c + 1], p];
      brute.push({ file, value: best, y: Math.floor(at / w), x: at % w });
      tensor.dispose();
      a.dispose();
    }
    brute.sort((p, q) => q.value - p.value || (p.file < q.file ? -1 : 1));
    expect(rows.map((e: { file: string }) => e.file)).toEqual(brute.slice(0, 3).map((b) => b.file));
    const field = receptiveFields(loaded)[layer] as LayerField;
    rows.forEach((e: { activation: number; position: { y: number; x: number }; inputField: { x: number; y: number; width: number; height: number }; crop: { x: number; y: number; width: number; height: number } }, i: number) => {
      expect(e.activation).toBeCloseTo(brute[i].value, 4);
      expect(e.position).toEqual({ y: brute[i].y, x: brute[i].x });
      // c2 is 3x3 then 5x5, valid: 7 pixels, stride 1, starting at the unit's own position.
      const box = nominalBox(field, e.position.y, e.position.x);
      expect(e.inputField).toEqual({ x: box.left, y: box.top, width: 7, height: 7 });
      expect(e.crop.width).toBeGreaterThan(0);
    });
  });

  test('a sheet of 2 filters x 3 from an index: one row per filter, through the shared grid', async () => {
    const out = path.join(dir, 'sheet.png');
    const r = await runCli(['examples', '--index', idx, '--layer', 'c2', '--filters', '0-1', '-k', '3', '--tile', '32', '-o', out, '--backend', 'wasm']);
    expect(r.stderr).toMatch(/wrote .*sheet\.png \(2 filters x 3\)/);
    const meta = await sharp(out).metadata();
    // Each tile is the 32 px crop plus two label lines (2 x 7 + 1 px).
    const g = gridGeometry({ width: 32, height: 32 + 15 }, 6, { cols: 3, gutter: 3 });
    expect([meta.width, meta.height]).toEqual([g.width, g.height]);
    // -o - writes the same PNG to stdout.
    const piped = await runCli(['examples', '--index', idx, '--layer', 'c2', '--filters', '0-1', '-k', '3', '--tile', '32', '-o', '-', '--backend', 'wasm']);
    expect(piped.stdout.subarray(1, 4).toString()).toBe('PNG');
  });

  test("from an index (the model's topology only, no weights) the same photos and boxes as ranked on the fly", async () => {
    const args = ['--layer', 'c2', '--filters', '0-3', '-k', '4', '--json', '--backend', 'wasm'];
    const fromIndex = await runCli(['examples', '--index', idx, ...args]);
    const onTheFly = await runCli(['examples', ...photos, '-m', model, ...args]);
    expect([fromIndex.code, onTheFly.code]).toEqual([0, 0]);
    const rows = (r: typeof fromIndex) => (JSON.parse(r.stdout.toString()) as { activation: number }[]).map(({ activation, ...rest }) => ({ ...rest, activation: Number(activation.toFixed(4)) }));
    expect(rows(fromIndex)).toHaveLength(16);
    expect(rows(fromIndex)).toEqual(rows(onTheFly));
  });

  test('from an index that records receptive fields: no tfjs, no wasm, and the output of an older index (fields from the model)', async () => {
    const manifest = JSON.parse(readFileSync(path.join(idx, 'manifest.json'), 'utf8'));
    expect(manifest.version).toBe(2);
    expect(manifest.layers[0].field).toEqual({ rows: expect.any(Object), cols: expect.any(Object), global: false });
    // The same index as format version 1 wrote it: no fields, so the query builds the model's graph.
    const old = path.join(dir, 'v1.idx');
    cpSync(idx, old, { recursive: true });
    writeFileSync(path.join(old, 'manifest.json'), JSON.stringify({ ...manifest, version: 1, layers: manifest.layers.map(({ field: _f, ...l }: { field: unknown }) => l) }));
    const args = ['--layer', 'c2', '--filters', '0-3', '-k', '4'];
    const fast = loadedModules(['examples', '--index', idx, ...args, '--json']);
    expect([fast.code, fast.stderr]).toEqual([0, '']);
    expect(fast.modules.filter((m) => /node_modules[\\/](@tensorflow|piscina)[\\/]/.test(m))).toEqual([]);
    const slow = loadedModules(['examples', '--index', old, ...args, '--json']);
    expect(slow.code).toBe(0);
    expect(slow.modules.some((m) => /@tensorflow[\\/]tfjs-layers[\\/]/.test(m))).toBe(true);
    expect(JSON.parse(fast.stdout)).toHaveLength(16);
    expect(JSON.parse(fast.stdout)).toEqual(JSON.parse(slow.stdout));
    // And the sheet, pixel for pixel.
    const sheets = await Promise.all([idx, old].map(async (i) => (await runCli(['examples', '--index', i, ...args, '--tile', '32', '-o', '-'])).stdout));
    expect(sheets[0].length).toBeGreaterThan(100);
    expect(sheets[0].equals(sheets[1])).toBe(true);
  });

  test('photos tied at a capped maximum are ranked by their mean, not by file name', async () => {
    // Brightness capped at 0.5: every photo has a pixel above it, so all maxima tie at the cap.
    const capped = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 1, kernelSize: 1, useBias: false, name: 'bright' }),
        tf.layers.reLU({ maxValue: 0.5, name: 'cap' }),
      ],
    });
    capped.getLayer('bright').setWeights([tf.fill([1, 1, 3, 1], 1 / 3)]);
    const file = await saveModelTo(capped, path.join(dir, 'capped'), { inputRange: [0, 1] });
    const r = await runCli(['examples', ...photos, '-m', file, '--layer', 'cap', '-k', '7', '--json', '--backend', 'wasm']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout.toString()) as { file: string; activation: number }[];
    const loaded = await loadModel(file);
    const cap = loaded.graph.layers.findIndex((l) => l.name === 'cap');
    const means = new Map<string, number>();
    for (const photo of photos) {
      const { tensor } = await loadModelInput(loaded, photo);
      const a = probeActivations(loaded, tensor, [cap]).activations[0];
      expect(a.max().dataSync()[0]).toBeCloseTo(0.5, 6);
      means.set(photo, a.mean().dataSync()[0]);
      tensor.dispose();
      a.dispose();
    }
    expect(rows.map((e) => e.activation)).toEqual(photos.map(() => 0.5));
    const byMean = [...photos].sort((p, q) => means.get(q)! - means.get(p)!);
    expect(new Set(means.values()).size).toBe(photos.length);
    expect(rows.map((e) => e.file)).toEqual(byMean);
    expect(byMean).not.toEqual([...photos].sort());
  });

  test('bad input names the valid range or the indexed layers, and writes nothing', async () => {
    const range = await runCli(['examples', '--index', idx, '--layer', 'c2', '--filter', '9', '--backend', 'wasm'], { cwd: dir });
    expect(range.code).toBe(2);
    expect(range.stderr).toMatch(/filter 9 out of range: layer c2 has 4 channels \(0-3\)/);
    const missing = await runCli(['examples', '--index', idx, '--layer', 'c1', '--backend', 'wasm'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/layer 'c1' is not in index .*: it holds c2/);
    const noDream = await runCli(['examples', '--index', idx, '--layer', 'c2', '--with-dream', dir, '--backend', 'wasm'], { cwd: dir });
    expect(noDream.code).toBe(2);
    expect(noDream.stderr).toMatch(/no dream of filter 0 in .*: expected dream\.c2\.0\.png/);
    expect(existsSync(path.join(dir, 'examples.c2.9.png')) || existsSync(path.join(dir, 'examples.c2.0.png'))).toBe(false);
  });
});
