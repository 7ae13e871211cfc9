import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { initBackend } from '../src/backend/select.js';
import { UsageError } from '../src/errors.js';
import { buildIndex } from '../src/dataset-index/build.js';
import { chooseLayers, type LayerStats } from '../src/dataset-index/compute.js';
import { decodeNpy, encodeNpy, readTable } from '../src/dataset-index/format.js';
import { inShard, parseShard, stableHash } from '../src/dataset-index/files.js';
import { mergeIndexes } from '../src/dataset-index/merge.js';
import { indexInMemory, inputBoxToPhoto, openIndex } from '../src/dataset-index/query.js';
import { loadModel, type LoadedModel } from '../src/model/load.js';
import { layerActivations, loadModelInput } from '../src/model/probe.js';
import { nominalField, receptiveFields } from '../src/model/receptive-field.js';
import { ROOT, runCli } from './helpers/cli.js';
import { saveModelTo, tempDir } from './helpers/models.js';

const DIST = path.join(ROOT, 'dist');

/** 16x16 colour input; c1: 3x3 same relu (4 filters); c2: 3x3 stride 2 relu (6 filters); then a head. */
function tinyModel(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1', kernelInitializer: tf.initializers.randomNormal({ seed: 11 }), biasInitializer: tf.initializers.constant({ value: -0.2 }) }));
  m.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, activation: 'relu', name: 'c2', kernelInitializer: tf.initializers.randomNormal({ seed: 12 }) }));
  m.add(tf.layers.globalAveragePooling2d({ name: 'gap' }));
  m.add(tf.layers.dense({ units: 2, activation: 'softmax', name: 'head', kernelInitializer: tf.initializers.randomNormal({ seed: 13 }) }));
  return m;
}

/** A photo of seeded noise, w x h. */
async function noisePhoto(file: string, seed: number, w = 20, h = 18): Promise<void> {
  const px = new Uint8Array(w * h * 3);
  let s = seed * 7919 + 1;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    px[i] = s >>> 24;
  }
  writeFileSync(file, await sharp(Buffer.from(px), { raw: { width: w, height: h, channels: 3 } }).png().toBuffer());
}

/** The brute-force readout: one forward pass per photo, each statistic by a plain loop (first position wins ties). */
async function bruteForce(loaded: LoadedModel, file: string, layer: number): Promise<{ max: number[]; mean: number[]; min: number[]; argmax: number[]; argmin: number[] }> {
  const { tensor } = await loadModelInput(loaded, file);
  const { layers, final } = layerActivations(loaded, tensor, [layer]);
  tensor.dispose();
  final?.dispose();
  const { values, shape } = layers[0].maps;
  const [h, w, c] = shape;
  const out = { max: [] as number[], mean: [] as number[], min: [] as number[], argmax: [] as number[], argmin: [] as number[] };
  for (let k = 0; k < c; k++) {
    let max = -Infinity;
    let min = Infinity;
    let sum = 0;
    let argmax = 0;
    let argmin = 0;
    for (let p = 0; p < h * w; p++) {
      const v = values[p * c + k];
      sum += v;
      if (v > max) [max, argmax] = [v, p];
      if (v < min) [min, argmin] = [v, p];
    }
    out.max.push(max);
    out.min.push(min);
    out.mean.push(sum / (h * w));
    out.argmax.push(argmax);
    out.argmin.push(argmin);
  }
  return out;
}

const rowOf = (s: LayerStats, row: number, c: number) => ({
  max: [...s.max.subarray(row * c, (row + 1) * c)],
  mean: [...s.mean.subarray(row * c, (row + 1) * c)],
  min: [...s.min.subarray(row * c, (row + 1) * c)],
  argmax: [...s.argmax.subarray(row * c, (row + 1) * c)],
  argmin: [...s.argmin.subarray(row * c, (row + 1) * c)],
});

/** Every array of an index folder's canonical table, as plain numbers, with its paths. */
async function snapshot(dir: string) {
  const t = (await readTable(dir))!;
  return { files: t.files, stats: t.stats.map((s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, [...(v as Float32Array)]]))) };
}

let work: string;
let photos: string;
let loaded: LoadedModel;
let modelPath: string;

beforeAll(async () => {
  await initBackend('wasm');
  work = tempDir('cnnviz-index-');
  modelPath = await saveModelTo(tinyModel(), path.join(work, 'model'));
  loaded = await loadModel(modelPath);
  photos = path.join(work, 'photos');
  for (const sub of ['a', 'b']) mkdirSync(path.join(photos, sub), { recursive: true });
  for (let i = 0; i < 7; i++) await noisePhoto(path.join(photos, i < 4 ? 'a' : 'b', `p${i}.png`), i);
  // A flat grey photo: every position ties, so argmax and argmin must be the first position.
  writeFileSync(path.join(photos, 'a', 'flat.png'), await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer());
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('index statistics', () => {
  test('equal a brute-force activation readout, photo by photo (max, min, positions exactly; mean to float32 rounding)', async () => {
    const dir = path.join(work, 'idx-brute');
    const layers = chooseLayers(loaded, 'c1,c2');
    await buildIndex(loaded, [photos], dir, layers, { workers: 1, batchSize: 3 });
    const index = await openIndex(dir);
    expect(index.files).toHaveLength(8);
    expect(index.files).toEqual([...index.files].sort());
    for (const [li, l] of layers.entries()) {
      const { stats } = index.layer(l.name);
      for (const [row, file] of index.files.entries()) {
        const want = await bruteForce(loaded, file, l.index);
        const got = rowOf(stats, row, l.channels);
        expect({ file, layer: li, max: got.max, min: got.min, argmax: got.argmax, argmin: got.argmin }).toEqual({ file, layer: li, max: want.max, min: want.min, argmax: want.argmax, argmin: want.argmin });
        got.mean.forEach((m, k) => expect(m).toBeCloseTo(want.mean[k], 5));
      }
    }
  });

  test('the default layers are the spatial ones that end in a non-linearity', () => {
    expect(chooseLayers(loaded).map((l) => l.name)).toEqual(['c1', 'c2']);
    expect(chooseLayers(loaded, '0-1').map((l) => [l.name, l.height, l.width, l.channels])).toEqual([
      ['c1', 16, 16, 4],
      ['c2', 7, 7, 6],
    ]);
    expect(() => chooseLayers(loaded, 'head')).toThrow(/layer head has output shape \[\?, 2\], not a map/);
  });

  test('a pool of two workers gives the same arrays as one thread, and indexInMemory the same as the folder', async () => {
    const one = path.join(work, 'idx-one');
    const two = path.join(work, 'idx-two');
    const layers = chooseLayers(loaded, 'c1,c2');
    await buildIndex(loaded, [photos], one, layers, { workers: 1, batchSize: 2 });
    await buildIndex(loaded, [photos], two, layers, { workers: 2, batchSize: 2, compiledDir: DIST });
    expect(await snapshot(two)).toEqual(await snapshot(one));
    const mem = await indexInMemory(loaded, readdirSync(path.join(photos, 'a')).map((f) => path.join(photos, 'a', f)).concat(path.join(photos, 'b', 'p5.png')), ['c2'], { workers: 1 });
    const disk = await openIndex(one);
    for (const [row, file] of mem.files.entries()) {
      const drow = disk.files.indexOf(file);
      expect(rowOf(mem.layer('c2').stats, row, 6)).toEqual(rowOf(disk.layer('c2').stats, drow, 6));
    }
  });

  test('rankUnits: top by max with its position, bottom by min, ties to the smaller path', async () => {
    const index = await openIndex(path.join(work, 'idx-brute'));
    const { stats } = index.layer('c2');
    for (const channel of [0, 3]) {
      const top = index.rankUnits('c2', channel, { k: 3 });
      const order = index.files.map((f, r) => ({ f, v: stats.max[r * 6 + channel], p: stats.argmax[r * 6 + channel] })).sort((a, b) => b.v - a.v || (a.f < b.f ? -1 : 1));
      expect(top).toEqual(order.slice(0, 3).map((o) => ({ file: o.f, value: o.v, y: Math.floor(o.p / 7), x: o.p % 7 })));
      const bottom = index.rankUnits('c2', channel, { k: 8, bottom: true });
      const low = index.files.map((f, r) => ({ f, v: stats.min[r * 6 + channel] })).sort((a, b) => a.v - b.v || (a.f < b.f ? -1 : 1));
      expect(bottom.map((b) => b.file)).toEqual(low.map((o) => o.f));
    }
    // thenBy mean: among equal maxima (the flat photo ties c1 everywhere), the higher mean first.
    const tied = index.rankUnits('c1', 0, { k: 8, thenBy: 'mean' });
    const c1 = index.layer('c1').stats;
    const key = (f: string) => {
      const r = index.files.indexOf(f);
      return [c1.max[r * 4], c1.mean[r * 4]];
    };
    for (let j = 1; j < tied.length; j++) {
      const [pm, pa] = key(tied[j - 1].file);
      const [m, a] = key(tied[j].file);
      expect(pm > m || (pm === m && pa >= a)).toBe(true);
    }
    expect(() => index.rankUnits('c2', 6, { k: 1 })).toThrow(new UsageError('filter 6 out of range: layer c2 has 6 channels (0-5)'));
    expect(() => index.rankUnits('nope', 0, { k: 1 })).toThrow(/layer 'nope' is not in index .*: it holds c1, c2/);
  });
});

describe('incremental, crash-safe, sharded', () => {
  test('a re-run computes only new or changed photos and drops deleted ones, ending equal to a fresh run', async () => {
    const set = path.join(work, 'inc-photos');
    cpSync(photos, set, { recursive: true });
    const dir = path.join(work, 'idx-inc');
    const layers = chooseLayers(loaded, 'c1,c2');
    expect((await buildIndex(loaded, [set], dir, layers, { workers: 1 })).computed).toBe(8);
    expect((await buildIndex(loaded, [set], dir, layers, { workers: 1 })).computed).toBe(0);
    await noisePhoto(path.join(set, 'b', 'new.png'), 99);
    await noisePhoto(path.join(set, 'a', 'p1.png'), 42); // changed content and size
    utimesSync(path.join(set, 'a', 'p2.png'), new Date(), new Date(Date.now() + 5000)); // touched only
    rmSync(path.join(set, 'b', 'p6.png'));
    const r = await buildIndex(loaded, [set], dir, layers, { workers: 1 });
    expect({ computed: r.computed, dropped: r.dropped, files: r.files }).toEqual({ computed: 3, dropped: 1, files: 8 });
    const fresh = path.join(work, 'idx-inc-fresh');
    await buildIndex(loaded, [set], fresh, layers, { workers: 1 });
    expect(await snapshot(dir)).toEqual(await snapshot(fresh));
  });

  test('a run killed after some chunks (with a half-written temp file) is readable, and the next run completes it equal to a clean run', async () => {
    const layers = chooseLayers(loaded, 'c1,c2');
    const clean = path.join(work, 'idx-clean');
    await buildIndex(loaded, [photos], clean, layers, { workers: 1, batchSize: 3 });
    // The crash: a run that dies as soon as its first batch's chunk is written (the batch
    // being decoded beside it may still land: a crash loses at most the batches in flight).
    const dir = path.join(work, 'idx-crash');
    const crash = await buildIndex(loaded, [photos], dir, layers, {
      workers: 1,
      batchSize: 1,
      onProgress: (done) => {
        if (done > 0) throw new Error('killed');
      },
    }).catch((e: Error) => e);
    expect((crash as Error).message).toBe('killed');
    writeFileSync(path.join(dir, 'chunks', '.00000009.chunk.123.tmp'), 'half a chu');
    const midway = await openIndex(dir);
    expect(midway.files.length).toBeGreaterThanOrEqual(1);
    expect(midway.files.length).toBeLessThanOrEqual(2);
    const r = await buildIndex(loaded, [photos], dir, layers, { workers: 1, batchSize: 3 });
    expect(r.computed).toBe(8 - midway.files.length);
    expect(await snapshot(dir)).toEqual(await snapshot(clean));
    expect(readdirSync(path.join(dir, 'chunks'))).toEqual([]);
  });

  test('two shards plus --merge equal one run, value for value', async () => {
    const layers = chooseLayers(loaded, 'c1,c2');
    const all = path.join(work, 'idx-all');
    await buildIndex(loaded, [photos], all, layers, { workers: 1 });
    const s1 = path.join(work, 'shards', 's1');
    const s2 = path.join(work, 'shards', 's2');
    const r1 = await buildIndex(loaded, [photos], s1, layers, { workers: 1, shard: parseShard('1/2') });
    const r2 = await buildIndex(loaded, [photos], s2, layers, { workers: 1, shard: parseShard('2/2') });
    expect(r1.files + r2.files).toBe(8);
    expect(Math.min(r1.files, r2.files)).toBeGreaterThan(0);
    const merged = path.join(work, 'idx-merged');
    await mergeIndexes([s2, s1], merged);
    // Both are one folder below work: the stored relative paths are the same too.
    expect(await snapshot(merged)).toEqual(await snapshot(all));
  });

  test('the manifest (version 2) records each layer\'s receptive field; a version 1 index is read, upgraded by a re-run, and merged keeping the fields', async () => {
    const layers = chooseLayers(loaded, 'c1,c2');
    const v2 = path.join(work, 'idx-v2');
    await buildIndex(loaded, [photos], v2, layers, { workers: 1 });
    const manifestOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const m = manifestOf(v2);
    const fields = receptiveFields(loaded, [16, 16]);
    expect(m.version).toBe(2);
    expect(m.layers.map((l: { field: unknown }) => l.field)).toEqual(layers.map((l) => nominalField(fields[l.index])));
    // c2: 3x3 stride 2 valid after a 3x3 same: 5 pixels wide, stride 2, starting 1 pixel before the edge.
    expect(m.layers[1].field).toEqual({ rows: { start: -1, stride: 2, size: 5 }, cols: { start: -1, stride: 2, size: 5 }, global: false });
    // The same index as version 1 wrote it: readable, ranked alike, without fields.
    const v1 = path.join(work, 'idx-v1');
    cpSync(v2, v1, { recursive: true });
    writeFileSync(path.join(v1, 'manifest.json'), JSON.stringify({ ...m, version: 1, layers: m.layers.map(({ field: _f, ...l }: { field: unknown }) => l) }));
    expect((await openIndex(v1)).rankUnits('c2', 3, { k: 4 })).toEqual((await openIndex(v2)).rankUnits('c2', 3, { k: 4 }));
    expect((await readTable(v1))!.settings.layers.every((l) => l.field === undefined)).toBe(true);
    // Only the layers asked for are read.
    const one = await openIndex(v2, { layers: ['c2'] });
    expect(one.layers.map((l) => l.name)).toEqual(['c2']);
    expect(one.rankUnits('c2', 3, { k: 4 })).toEqual((await openIndex(v2)).rankUnits('c2', 3, { k: 4 }));
    // A merge of a version 1 and a version 2 index keeps the fields; a re-run over a version 1 index writes them.
    const merged = path.join(work, 'idx-v12');
    await mergeIndexes([v1, v2], merged);
    expect(manifestOf(merged).layers.map((l: { field: unknown }) => l.field)).toEqual(m.layers.map((l: { field: unknown }) => l.field));
    expect(manifestOf(merged).version).toBe(2);
    await buildIndex(loaded, [photos], v1, layers, { workers: 1 });
    expect(manifestOf(v1).layers).toEqual(m.layers.map((l: { arrays: Record<string, string> }) => ({ ...l, arrays: expect.any(Object) })));
    expect(manifestOf(v1).version).toBe(2);
    expect(await snapshot(v1)).toEqual(await snapshot(v2));
  });

  test('shards: a stable hash of the name, every file in exactly one shard', () => {
    expect(stableHash('a/p0.png')).toBe(stableHash('a/p0.png'));
    expect(stableHash('')).toBe(0x811c9dc5);
    const names = Array.from({ length: 50 }, (_, i) => ({ abs: `/x/${i}.jpg`, name: `${i}.jpg` }));
    for (const f of names) expect([1, 2, 3].filter((k) => inShard(f, { k, n: 3 }))).toHaveLength(1);
    expect(() => parseShard('3/2')).toThrow(new UsageError("bad --shard '3/2': expected k/n with 1 <= k <= n, e.g. 1/4"));
  });
});

describe('format', () => {
  test('.npy round-trips and has the header numpy expects', () => {
    const a = new Float32Array([1.5, -2, 3, 4, 5, 6]);
    const bytes = encodeNpy(a, [2, 3]);
    expect(bytes.toString('latin1', 0, 6)).toBe('\x93NUMPY');
    expect((10 + bytes.readUInt16LE(8)) % 64).toBe(0);
    expect(bytes.toString('latin1', 10, 10 + bytes.readUInt16LE(8))).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    const back = decodeNpy(bytes, 'x.npy');
    expect(back.shape).toEqual([2, 3]);
    expect([...back.data]).toEqual([...a]);
    expect(decodeNpy(encodeNpy(new Int32Array([7, 8]), [1, 2]), 'y.npy').data).toBeInstanceOf(Int32Array);
  });

  test('the index still resolves after the index and the photos move together', async () => {
    const from = path.join(work, 'move-src');
    cpSync(photos, path.join(from, 'photos'), { recursive: true });
    await buildIndex(loaded, [path.join(from, 'photos')], path.join(from, 'photos.index'), chooseLayers(loaded, 'c2'), { workers: 1 });
    const to = path.join(work, 'move-dst');
    cpSync(from, to, { recursive: true });
    rmSync(from, { recursive: true });
    const index = await openIndex(path.join(to, 'photos.index'));
    expect(index.files.every((f) => f.startsWith(path.join(to, 'photos')) && existsSync(f))).toBe(true);
  });

  test('inputBoxToPhoto inverts sharp\'s centred cover, contain and fill', () => {
    // A 200x100 photo into a 50x50 input. cover: scaled by 0.5 to 100x50, 25 px cut each side.
    expect(inputBoxToPhoto({ x0: 0, y0: 0, x1: 50, y1: 50 }, { width: 200, height: 100 }, { width: 50, height: 50, fit: 'cover' })).toEqual({ x0: 50, y0: 0, x1: 150, y1: 100 });
    // contain: scaled by 0.25 to 50x25, 12.5 px of padding above and below.
    expect(inputBoxToPhoto({ x0: 0, y0: 0, x1: 50, y1: 50 }, { width: 200, height: 100 }, { width: 50, height: 50, fit: 'contain' })).toEqual({ x0: 0, y0: 0, x1: 200, y1: 100 });
    expect(inputBoxToPhoto({ x0: 10, y0: 25, x1: 20, y1: 30 }, { width: 200, height: 100 }, { width: 50, height: 50, fit: 'contain' })).toEqual({ x0: 40, y0: 50, x1: 80, y1: 70 });
    expect(inputBoxToPhoto({ x0: 10, y0: 10, x1: 20, y1: 20 }, { width: 200, height: 100 }, { width: 50, height: 50, fit: 'fill' })).toEqual({ x0: 40, y0: 20, x1: 80, y1: 40 });
  });
});

describe('the index command', () => {
  test('a bad file is listed on stderr and the exit code is 1, the good ones are indexed; numpy-style arrays on disk', async () => {
    const set = path.join(work, 'cli-photos');
    cpSync(photos, set, { recursive: true });
    writeFileSync(path.join(set, 'b', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    const out = path.join(work, 'cli-idx');
    const r = await runCli(['index', set, '-m', modelPath, '-o', out]);
    expect(r.code).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('cnnviz:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^cnnviz: .*b\/broken\.jpg: cannot decode: a truncated or corrupt JPEG file/);
    expect(r.stderr).toMatch(/indexed 8 photos into .* \(8 computed, 0 dropped, 1 failed\)/);
    const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(m.failed).toEqual([{ path: '../cli-photos/b/broken.jpg', reason: expect.stringMatching(/truncated or corrupt JPEG/) }]);
    expect(m.layers.map((l: { name: string }) => l.name)).toEqual(['c1', 'c2']);
    const max = decodeNpy(readFileSync(path.join(out, m.layers[1].arrays.max)), 'max');
    expect(max.shape).toEqual([8, 6]);
    // Re-run without --layers: the index's own layers; the bad file is tried again.
    const again = await runCli(['index', set, '-m', modelPath, '-o', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\(0 computed, 0 dropped, 1 failed\)/);
  });

  test('re-running with other layers is refused, naming both', async () => {
    const out = path.join(work, 'cli-idx');
    const r = await runCli(['index', photos, '-m', modelPath, '--layers', 'c2', '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/was built with layers \["c1","c2"\], not \["c2"\]: use the same settings to extend it, or a new -o/);
  });
});
