import { mkdirSync, mkdtempSync, copyFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { gaussianMap, randomMap, sobelMap, type Pixels } from '../src/attribution/baselines.js';
import { classProbability, evaluatePhotos, evaluationPhotos, type PhotoEvaluation } from '../src/attribution/evaluate.js';
import { curveArea, faithfulness } from '../src/attribution/faithfulness.js';
import { noisyLinearImpute } from '../src/attribution/impute.js';
import { DEFAULT_MODEL, fromLayersModel, loadModel } from '../src/model/load.js';
import { type ModelMeta } from '../src/model/meta.js';
import { ROOT, runCli } from './helpers/cli.js';

// Workers run the built library, not the TypeScript source this test imports.
const DIST = fileURLToPath(new URL('../dist', import.meta.url));
const META: ModelMeta = { name: 'test', inputRange: [0, 1], inputRangeSource: 'default', extra: {} };

beforeAll(async () => {
  await initBackend('wasm');
});

/** A linear ramp, different per channel: every interior pixel is the weighted mean of its 8 neighbours. */
function ramp(width: number, height: number, channels: number): Pixels {
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let k = 0; k < channels; k++) data[(y * width + x) * channels + k] = 0.3 * x - 0.2 * y + k;
  return { data, width, height, channels };
}

describe('noisy linear imputation', () => {
  test("fills each removed pixel with its neighbours' weighted mean: exact on a linear ramp, known pixels untouched", () => {
    const img = ramp(10, 9, 2);
    const removed = new Uint8Array(90);
    for (const [x, y] of [[2, 2], [5, 6], [7, 3]]) removed[y * 10 + x] = 1;
    const out = noisyLinearImpute(img, removed);
    for (let p = 0; p < 90; p++) {
      for (let k = 0; k < 2; k++) {
        if (removed[p]) expect(out[p * 2 + k]).toBeCloseTo(img.data[p * 2 + k], 5);
        else expect(out[p * 2 + k]).toBe(img.data[p * 2 + k]);
      }
    }
  });

  test('two neighbouring holes solve the linear system together (hand-solved), and the noise lands on the removed pixels only', () => {
    // A non-linear image: x_a = S_a + x_b / 6 and x_b = S_b + x_a / 6 for two horizontal neighbours.
    const w = 6;
    const h = 5;
    const data = Float32Array.from({ length: w * h }, (_, i) => Math.sin(i * 1.7) + (i % 5) * 0.3);
    const img = { data, width: w, height: h, channels: 1 };
    const a = 2 * w + 2;
    const b = a + 1;
    const removed = new Uint8Array(w * h);
    removed[a] = removed[b] = 1;
    const around = (p: number, skip: number) => {
      let s = 0;
      for (const [dx, dy, wt] of [[-1, 0, 1 / 6], [1, 0, 1 / 6], [0, -1, 1 / 6], [0, 1, 1 / 6], [-1, -1, 1 / 12], [1, -1, 1 / 12], [-1, 1, 1 / 12], [1, 1, 1 / 12]]) {
        const q = p + dy * w + dx;
        if (q !== skip) s += wt * data[q];
      }
      return s;
    };
    const Sa = around(a, b);
    const Sb = around(b, a);
    const xa = (Sa + Sb / 6) / (1 - 1 / 36);
    const xb = (Sb + Sa / 6) / (1 - 1 / 36);
    const out = noisyLinearImpute(img, removed);
    expect(out[a]).toBeCloseTo(xa, 4);
    expect(out[b]).toBeCloseTo(xb, 4);
    const noise = Float32Array.from({ length: w * h }, (_, i) => 0.01 * (i + 1));
    const noisy = noisyLinearImpute(img, removed, { noise });
    expect(noisy[a] - out[a]).toBeCloseTo(noise[a], 6);
    expect(noisy[b] - out[b]).toBeCloseTo(noise[b], 6);
    expect(noisy[0]).toBe(data[0]);
  });

  test('a large hole in a ramp is filled with the ramp once the sweeps have converged (the multigrid start carries it most of the way)', () => {
    const img = ramp(32, 32, 1);
    const removed = new Uint8Array(32 * 32);
    for (let y = 6; y < 26; y++) for (let x = 4; x < 28; x++) removed[y * 32 + x] = 1;
    const gap = (out: Float32Array) => Math.max(...Array.from(out, (v, i) => Math.abs(v - img.data[i])));
    const converged = gap(noisyLinearImpute(img, removed, { sweeps: 400 }));
    const quick = gap(noisyLinearImpute(img, removed));
    const cold = gap(noisyLinearImpute(img, removed, { sweeps: 1 }));
    expect(converged).toBeLessThan(1e-4);
    // The ramp spans 15 units: the default (3 fine sweeps) stays within a few per cent of it.
    expect(quick).toBeLessThan(0.5);
    expect(quick).toBeLessThanOrEqual(cold);
  });
});

describe('baseline maps', () => {
  test('Sobel of a vertical step is 4 x the step on the two columns beside it and 0 elsewhere', () => {
    const w = 7;
    const h = 5;
    const data = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 3; x < w; x++) data.fill(0.5, (y * w + x) * 3, (y * w + x) * 3 + 3);
    const map = sobelMap({ data, width: w, height: h, channels: 3 });
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(map[y * w + x]).toBeCloseTo(x === 2 || x === 3 ? 2 : 0, 6);
  });

  test('the Gaussian peaks at 1 in the centre, is symmetric, and falls to exp(-k^2 / 2 sigma^2) k pixels away', () => {
    const map = gaussianMap(9, 9);
    const s = 0.25 * 9;
    expect(map[4 * 9 + 4]).toBeCloseTo(1, 6);
    for (let k = 0; k <= 4; k++) {
      expect(map[4 * 9 + 4 + k]).toBeCloseTo(Math.exp(-(k * k) / (2 * s * s)), 6);
      expect(map[(4 + k) * 9 + 4]).toBeCloseTo(map[4 * 9 + 4 + k], 6);
      expect(map[(4 - k) * 9 + 4]).toBeCloseTo(map[4 * 9 + 4 + k], 6);
    }
    expect(Math.max(...map)).toBe(map[4 * 9 + 4]);
  });

  test('the random map is seeded, in [0, 1), and as coarse as its grid (corners are grid cells)', () => {
    const a = randomMap(8, 8, 2, 2, 5);
    expect(randomMap(8, 8, 2, 2, 5)).toEqual(a);
    expect(randomMap(8, 8, 2, 2, 6)).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...a)).toBeLessThan(1);
    // Half-pixel bilinear upsampling by 4: the first two pixels of a row sit at or before the cell centre.
    expect(a[0]).toBe(a[1]);
    expect(a[0]).not.toBe(a[7]);
  });
});

describe('deletion, insertion and ROAD on a hand-built net', () => {
  // 8x8 RGB in [0, 1]; class 1's logit is 0.5 (sum of the 3x3 square R's values - 13.5), class 0's is 0.
  const side = 8;
  const inR = (p: number) => Math.floor(p / side) >= 2 && Math.floor(p / side) <= 4 && p % side >= 2 && p % side <= 4;
  function squareNet() {
    const model = tf.sequential();
    model.add(tf.layers.flatten({ inputShape: [side, side, 3] }));
    model.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
    const kernel = new Float32Array(side * side * 3 * 2);
    for (let p = 0; p < side * side; p++) if (inR(p)) for (let k = 0; k < 3; k++) kernel[(p * 3 + k) * 2 + 1] = 0.5;
    model.layers[1].setWeights([tf.tensor2d(kernel, [side * side * 3, 2]), tf.tensor1d([0, -6.75])]);
    return fromLayersModel(model, 'square', META);
  }

  test('the true relevant pixels score better than the inverted map on all four metrics', () => {
    const loaded = squareNet();
    const data = new Float32Array(side * side * 3);
    for (let p = 0; p < side * side; p++) if (inR(p)) data.fill(1, p * 3, p * 3 + 3);
    const img = { data, width: side, height: side, channels: 3 };
    const perfect = Float32Array.from({ length: side * side }, (_, p) => (inR(p) ? 1 : 0));
    const inverted = perfect.map((v) => 1 - v);
    const f = faithfulness(img, [perfect, inverted], classProbability(loaded, 1, side, side, 3), { range: [0, 1], steps: 8 });
    expect(f.probability).toBeGreaterThan(0.99);
    const [good, bad] = f.scores;
    expect(good.deletion).toBeLessThan(bad.deletion - 0.3);
    expect(good.insertion).toBeGreaterThan(bad.insertion + 0.3);
    expect(good.roadMorf).toBeLessThan(bad.roadMorf);
    expect(good.roadLerf).toBeGreaterThan(bad.roadLerf);
    // The curves' ends are shared: the photo itself, then all grey (deletion) or all blurred (insertion).
    expect(f.curves[0].deletion[0]).toBe(f.probability);
    expect(f.curves[0].deletion[8]).toBe(f.curves[1].deletion[8]);
    expect(f.curves[0].insertion[0]).toBe(f.curves[1].insertion[0]);
    expect(good.deletion).toBeCloseTo(curveArea(f.curves[0].deletion), 10);
  });

  test('the trapezoid area of evenly spaced points', () => {
    expect(curveArea([1, 1, 1])).toBe(1);
    expect(curveArea([0, 1])).toBe(0.5);
    expect(curveArea([1, 0, 0, 0, 0])).toBeCloseTo(0.125, 10);
  });
});

describe('cam --evaluate over a folder', () => {
  test('a photo gets the same numbers on 1 or 2 workers, and a sample is seeded and in name order', async () => {
    const loaded = await loadModel(DEFAULT_MODEL);
    const files = await evaluationPhotos(path.join(ROOT, 'examples'));
    expect(files.map((f) => f.name)).toEqual(['cat.jpg', 'coffee.jpg']);
    const run = async (workers: number) => {
      const got = new Map<string, PhotoEvaluation>();
      await evaluatePhotos(loaded, files, { workers, compiledDir: DIST, steps: 4 }, { onPhoto: (f, r) => got.set(f.name, r), onFailed: (f, e) => { throw e; } });
      return got;
    };
    const one = await run(1);
    const two = await run(2);
    expect([...two.keys()].sort()).toEqual(['cat.jpg', 'coffee.jpg']);
    for (const name of one.keys()) expect(two.get(name)).toEqual(one.get(name));
    expect(one.get('cat.jpg')!.maps.map((m) => m.name)).toEqual(['gradcam', 'random', 'sobel', 'gaussian']);
    const sample = await evaluationPhotos(path.join(ROOT, 'examples'), 1, 3);
    expect(sample).toHaveLength(1);
    expect(await evaluationPhotos(path.join(ROOT, 'examples'), 1, 3)).toEqual(sample);
  }, 120_000);

  test('a missing or empty folder is a usage error naming it; a bad photo gets one line, the good one its result, exit 1', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-evaluate-'));
    const missing = await runCli(['cam', '--evaluate', path.join(dir, 'nope')]);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 2, stderr: `cnnviz: --evaluate folder not found: ${path.join(dir, 'nope')} (give a folder of photos)\n` });
    mkdirSync(path.join(dir, 'empty'));
    const empty = await runCli(['cam', '--evaluate', path.join(dir, 'empty')]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(new RegExp(`^cnnviz: no photos in ${path.join(dir, 'empty').replace(/[/.]/g, '\\$&')} \\(looked for \\.jpg .*\\)\n$`));
    mkdirSync(path.join(dir, 'mixed'));
    copyFileSync(path.join(ROOT, 'examples/cat.jpg'), path.join(dir, 'mixed/cat.jpg'));
    writeFileSync(path.join(dir, 'mixed/broken.jpg'), 'not a jpeg');
    const mixed = await runCli(['cam', '--evaluate', path.join(dir, 'mixed'), '--steps', '4', '--json']);
    expect(mixed.code).toBe(1);
    const errors = mixed.stderr.split('\n').filter((l) => l.startsWith('cnnviz:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^cnnviz: .*broken\.jpg: cannot decode/);
    const json = JSON.parse(mixed.stdout.toString());
    expect(json.photos).toBe(1);
    expect(json.images.map((i: { image: string }) => path.basename(i.image))).toEqual(['cat.jpg']);
    expect(json.summary.map((m: { name: string }) => m.name)).toEqual(['gradcam', 'random', 'sobel', 'gaussian']);
  }, 120_000);
});
