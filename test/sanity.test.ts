import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { initBackend } from '../src/backend/select.js';
import { createCascade, parametersOf, reinitializedWeight, weightedLayers } from '../src/attribution/cascade.js';
import { SANITY_METHODS, sanityCheck, stepsEvery } from '../src/attribution/sanity.js';
import { averageRanks, spearman } from '../src/attribution/spearman.js';
import { fromLayersModel, type LoadedModel } from '../src/model/load.js';
import { type ModelMeta } from '../src/model/meta.js';
import { loadModel } from '../src/model/load.js';
import { runCli } from './helpers/cli.js';
import { baseModels } from './helpers/fuzz-corpus.js';
import { writeGraphModel } from './helpers/graph-fixture.js';

const META: ModelMeta = { name: 'test', inputRange: [0, 1], inputRangeSource: 'default', extra: {} };

/** A seeded pseudo-random array in [-1, 1). */
function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** Give every weight of a model seeded values far from any initializer's (variances kept positive). */
function scramble(model: tf.LayersModel): void {
  model.layers.forEach((layer, i) => {
    if (!layer.weights.length) return;
    layer.setWeights(layer.weights.map((w, j) => {
      const v = seeded(w.shape.reduce((a, b) => a * b, 1), 100 * i + j + 1);
      return tf.tensor(/moving_variance/.test(w.name) ? v.map((x) => 1.5 + x) : v, w.shape);
    }));
  });
}

/** 12x12x3 → conv 'c1' relu → batch norm 'bn' → conv 'c2' relu → GAP → dense 'head' (3 classes). */
function smallNet(): LoadedModel {
  const input = tf.input({ shape: [12, 12, 3] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c2' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 3, name: 'head' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  scramble(model);
  return fromLayersModel(model, 'small', META);
}

/** The same shape of network with its convolutions inside a nested Sequential 'base', as transfer learning builds it. */
function nestedNet(): LoadedModel {
  const base = tf.sequential({ name: 'base' });
  base.add(tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }));
  base.add(tf.layers.batchNormalization({ name: 'bn' }));
  base.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c2' }));
  const input = tf.input({ shape: [12, 12, 3] });
  let x = base.apply(input) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 3, name: 'head' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  scramble(base);
  scramble(model);
  return fromLayersModel(model, 'nested', META);
}

const image = () => tf.tensor4d(seeded(12 * 12 * 3, 5).map((v) => (v + 1) / 2), [1, 12, 12, 3]);

/** Every weight of every layer of the list, as plain arrays, by layer name. */
function snapshot(loaded: LoadedModel): Map<string, Float32Array[]> {
  return new Map(weightedLayers(loaded).map((l) => [l.name, loaded.graph.layers[l.index].layer.getWeights().map((w) => w.dataSync() as Float32Array)]));
}

const same = (a: Float32Array[], b: Float32Array[]) => a.length === b.length && a.every((w, i) => w.length === b[i].length && w.every((v, j) => v === b[i][j]));

beforeAll(async () => {
  await initBackend('wasm');
});

describe('Spearman rank correlation', () => {
  test('ties share the mean of the ranks they span', () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([3, 1, 3, 3, 0]))).toEqual([4, 2, 4, 4, 1]);
  });

  test('equals scipy.stats.spearmanr on known vectors, ties included', () => {
    // scipy's documented example: spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) = 0.8207826816681233.
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(0.8207826816681233, 12);
    // Ranks [1, 2.5, 2.5, 4] and [4, 3, 2, 1]: Pearson -0.9486832980505138.
    expect(spearman([10, 20, 20, 30], [4, 3, 2, 1])).toBeCloseTo(-0.9486832980505138, 12);
    // Monotone but not linear: ranks agree exactly.
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 1000])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [9, 7, 5, -1])).toBeCloseTo(-1, 12);
  });

  test('a constant vector has no ranking: NaN, not a number that looks like agreement', () => {
    expect(spearman([1, 2, 3], [0, 0, 0])).toBeNaN();
  });
});

describe('cascading randomization', () => {
  test('the layers with parameters, top first: the batch norm counts, the pooling does not', () => {
    expect(weightedLayers(smallNet()).map((l) => l.name)).toEqual(['head', 'c2', 'bn', 'c1']);
  });

  test.each([['functional', smallNet], ['nested', nestedNet]])('step k re-initializes exactly the top k layers of a copy; the user model is untouched (%s)', async (_kind, make) => {
    const loaded = make();
    const before = snapshot(loaded);
    const cascade = await createCascade(loaded, 3);
    const names = cascade.layers.map((l) => l.name);
    expect(names.length).toBe(4);
    expect(cascade.model.model).not.toBe(loaded.model);
    for (const k of [0, 1, 2, 4, 1]) {
      cascade.randomizeTop(k);
      const copy = snapshot(cascade.model);
      names.forEach((name, i) => {
        const changed = copy.get(name)!.map((w, j) => !same([w], [before.get(name)![j]]));
        // Every parameter of a re-initialized layer differs from the trained one (the scrambled
        // values are nowhere near an initializer's); a batch norm's moving statistics stay.
        const layer = cascade.model.graph.layers[cascade.layers[i].index].layer;
        const params = parametersOf(layer);
        expect({ name, k, changed }).toEqual({ name, k, changed: layer.weights.map((w) => i < k && params.has(w)) });
      });
      const after = snapshot(loaded);
      for (const name of names) expect(same(after.get(name)!, before.get(name)!)).toBe(true);
    }
    cascade.dispose();
    // Disposing the copy frees only its own weights.
    expect(same(snapshot(loaded).get(names[0])!, before.get(names[0])!)).toBe(true);
  });

  test('re-initialization: kernels truncated at 2 sigma with Glorot scale, seeded; vectors to their Keras defaults', () => {
    const a = reinitializedWeight('c/kernel', [3, 3, 40, 60], 7).dataSync();
    const b = reinitializedWeight('c/kernel', [3, 3, 40, 60], 7).dataSync();
    const c = reinitializedWeight('c/kernel', [3, 3, 40, 60], 8).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const sigma = Math.sqrt(2 / (9 * 40 + 9 * 60));
    const sd = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    // A normal truncated at 2 sigma has a standard deviation of 0.8796 sigma.
    expect(sd / sigma).toBeCloseTo(0.8796, 1);
    expect(Math.max(...Array.from(a, Math.abs))).toBeLessThanOrEqual(2 * sigma + 1e-7);
    expect(Array.from(reinitializedWeight('bn/gamma', [3], 1).dataSync())).toEqual([1, 1, 1]);
    expect(Array.from(reinitializedWeight('bn/beta', [3], 1).dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(reinitializedWeight('c/bias', [3], 1).dataSync())).toEqual([0, 0, 0]);
  });

  test("a batch norm's parameters are gamma and beta, not its moving statistics; a frozen layer's parameters still count", async () => {
    const loaded = smallNet();
    const bn = loaded.model.getLayer('bn');
    expect([...parametersOf(bn)].map((w) => w.originalName)).toEqual(['bn/gamma', 'bn/beta']);
    loaded.model.getLayer('c1').trainable = false;
    expect(weightedLayers(loaded).map((l) => l.name)).toEqual(['head', 'c2', 'bn', 'c1']);
    const before = snapshot(loaded).get('c1')!;
    const cascade = await createCascade(loaded, 1);
    cascade.randomizeTop(4);
    const after = snapshot(cascade.model).get('c1')!;
    expect(after.map((w, j) => same([w], [before[j]]))).toEqual([false, false]);
    cascade.dispose();
  });
});

describe('sanityCheck', () => {
  test('every method correlates 1 with itself at step 0 (the untouched copy), and Grad-CAM and vanilla lose it when every layer is re-initialized', async () => {
    const x = image();
    const run = await sanityCheck(smallNet(), [x], { methods: [...SANITY_METHODS], at: [4], samples: 4, steps: 8, keepMaps: true });
    expect(run.steps).toEqual([0, 4]);
    const [result] = run.images;
    run.methods.forEach((m, j) => expect({ m, r: result.correlations[j][0] }).toEqual({ m, r: expect.closeTo(1, 6) }));
    for (const m of ['gradcam', 'vanilla']) expect(result.correlations[run.methods.indexOf(m as never)][1]).toBeLessThan(0.9);
    expect(result.maps![0]).toHaveLength(2);
    x.dispose();
  });

  test('the class explained is the trained model\'s at every step, and tensors do not leak across steps', async () => {
    const loaded = smallNet();
    const x = image();
    // The first run fills the folded-weights cache (backend/derived-weights.ts), whose stale entries go on the next run's insertions.
    const opts = { methods: ['gradcam', 'vanilla'], every: 1 };
    await sanityCheck(loaded, [x], opts);
    const before = tf.memory().numTensors;
    const run = await sanityCheck(loaded, [x], opts);
    expect(run.steps).toEqual([0, 1, 2, 3, 4]);
    const predicted = tf.tidy(() => (loaded.model.predict(x) as tf.Tensor).argMax(1).dataSync()[0]);
    expect(run.images[0].class).toBe(predicted);
    expect(run.images[0].maps).toBeUndefined();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  test('stepsEvery: every k-th step and the last', () => {
    expect(stepsEvery(55, 7)).toEqual([0, 7, 14, 21, 28, 35, 42, 49, 55]);
    expect(stepsEvery(4, 2)).toEqual([0, 2, 4]);
    expect(() => stepsEvery(4, 0)).toThrow("bad --every '0': expected an integer >= 1");
  });
});

describe('Keras files', () => {
  test.each(['h5', 'keras'] as const)('a .%s model runs the cascade on its copy and keeps its own weights', async (kind) => {
    const files = await baseModels(mkdtempSync(path.join(os.tmpdir(), 'cnnviz-sanity-keras-')));
    const loaded = await loadModel(files[kind]);
    const before = snapshot(loaded);
    const x = tf.tensor4d(seeded(16 * 16, 9).map((v) => (v + 1) / 2), [1, 16, 16, 1]);
    const run = await sanityCheck(loaded, [x], { methods: ['gradcam', 'vanilla'], every: 1, layer: 'edges' });
    expect(run.layers.map((l) => l.name)).toEqual(['head', 'edges']);
    expect(run.steps).toEqual([0, 1, 2]);
    run.methods.forEach((_, j) => expect(run.images[0].correlations[j][0]).toBeCloseTo(1, 6));
    const after = snapshot(loaded);
    for (const [name, w] of before) expect(same(after.get(name)!, w)).toBe(true);
    x.dispose();
  });
});

describe('cnnviz sanity', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-sanity-'));
  const cat = 'examples/cat.jpg';

  test('--json prints the table; the grid has a row per method and a column per step', async () => {
    const out = path.join(dir, 'grid.png');
    const r = await runCli(['sanity', cat, '--methods', 'gradcam,vanilla', '--every', '100', '--tile', '32', '-o', out, '--json']);
    expect(r.stderr).toContain('layers with weights');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout.toString());
    expect(json.label).toBe('cat');
    expect(json.steps).toEqual([0, json.layers.length]);
    expect(json.correlations.gradcam[0]).toBeCloseTo(1, 6);
    expect(json.correlations.vanilla[0]).toBeCloseTo(1, 6);
    expect(json.correlations.vanilla[1]).toBeLessThan(0.5);
    const meta = await sharp(out).metadata();
    // 2 columns and 2 rows of 32-px tiles, with gutters, labels and headers around them.
    expect(meta.width).toBeGreaterThan(2 * 32);
    expect(meta.width).toBeLessThan(3 * 32 + 60);
    expect(meta.height).toBeGreaterThan(2 * 32);
    expect(meta.height).toBeLessThan(4 * 32);
  });

  test('an unknown method is named with the valid ones, exit 2, nothing written', async () => {
    const out = path.join(dir, 'bad.png');
    const r = await runCli(['sanity', cat, '--methods', 'gradcam,magic', '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`cnnviz: unknown method 'magic': use ${SANITY_METHODS.join(', ')}`);
    expect(existsSync(out)).toBe(false);
  });

  test('a graph model is refused in one line naming why (its weights are graph constants)', async () => {
    const graph = writeGraphModel(path.join(dir, 'graph'));
    const r = await runCli(['sanity', cat, '-m', graph, '-o', path.join(dir, 'g.png')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^cnnviz: .*model\.json is a TF\.js graph model, whose weights are constants baked into the graph: sanity needs per-layer weights/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('--every 0 is a usage error', async () => {
    const r = await runCli(['sanity', cat, '--every', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("cnnviz: bad --every '0': expected an integer >= 1");
  });
});
