import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { initBackend } from '../src/backend/select.js';
import { CAM_METHODS, createCam } from '../src/attribution/cam.js';
import { defaultCamLayer } from '../src/attribution/layer.js';
import { mapStats, type AttributionMap } from '../src/attribution/map.js';
import { adaptiveTrapezoid, gaussLegendre, quadrature } from '../src/attribution/quadrature.js';
import { SALIENCY_METHODS, createSaliency } from '../src/attribution/saliency.js';
import { DEFAULT_MODEL, fromLayersModel, loadModel, type LoadedModel } from '../src/model/load.js';
import { type ModelMeta } from '../src/model/meta.js';
import { loadModelInput } from '../src/model/probe.js';
import { MOBILENET, ROOT, SHARED, describeWithShared, runCli } from './helpers/cli.js';
import { expectClose } from './gradients-helpers.js';
import { writeGraphModel } from './helpers/graph-fixture.js';

const META: ModelMeta = { name: 'test', inputRange: [0, 1], inputRangeSource: 'default', extra: {} };
const VAL = path.join(SHARED, 'data/cats-dogs/val');

/** A seeded pseudo-random array in [-1, 1). */
function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** 6x6x2 input → 1x1 conv 'feat' (3 channels, relu) → global average → dense (classes, linear or one sigmoid unit). */
function tinyNet(kernel: Float32Array, dense: Float32Array, units: number, activation: 'linear' | 'softmax' | 'sigmoid' = 'linear'): LoadedModel {
  const input = tf.input({ shape: [6, 6, 2] });
  const feat = tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'relu', useBias: false, name: 'feat' }).apply(input) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(feat) as tf.SymbolicTensor;
  const head = tf.layers.dense({ units, useBias: false, activation, name: 'head' }).apply(gap) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: head });
  model.getLayer('feat').setWeights([tf.tensor4d(kernel, [1, 1, 2, 3])]);
  model.getLayer('head').setWeights([tf.tensor2d(dense, [3, units])]);
  return fromLayersModel(model, 'tiny', { ...META, labels: units === 1 ? ['cat', 'dog'] : undefined });
}

/** Deeper net for backend agreement: conv3x3 relu → conv3x3 + batch norm + relu6 → conv 'top' → GAP → dense 3. */
function deeperNet(): LoadedModel {
  const input = tf.input({ shape: [12, 12, 3] });
  const init = (seed: number) => tf.initializers.randomNormal({ seed, stddev: 0.5 });
  let x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: init(2) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(3), name: 'top' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(4) }).apply(x) as tf.SymbolicTensor;
  return fromLayersModel(tf.model({ inputs: input, outputs: x }), 'deeper', META);
}

const KERNEL = Float32Array.from([0.5, -0.3, 1.0, 0.2, 0.8, -0.6]); // [in 2][out 3]
const DENSE = Float32Array.from([1.5, -0.5, -1.0, 2.0, 0.7, 0.3]); // [3][2]
const X = seeded(6 * 6 * 2, 7).map((v) => (v + 1) / 2);

/** A = relu(x · K) by hand, [36][3]. */
function handActivations(): number[][] {
  return Array.from({ length: 36 }, (_, p) => [0, 1, 2].map((k) => Math.max(0, X[p * 2] * KERNEL[k] + X[p * 2 + 1] * KERNEL[3 + k])));
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('Grad-CAM and LayerCAM on a hand-built net equal the hand-computed maps', () => {
  // score_c = sum_k W[k][c] mean_ij A_k, so dscore/dA_ij^k = W[k][c] / 36 at every position.
  test.each([0, 1])('class %i', (cls) => {
    const loaded = tinyNet(KERNEL, DENSE, 2);
    const x = tf.tensor4d(X, [1, 6, 6, 2]);
    const A = handActivations();
    const w = [0, 1, 2].map((k) => DENSE[k * 2 + cls] / 36);
    const gradcam = A.map((a) => Math.max(0, a.reduce((s, v, k) => s + w[k] * v, 0)));
    const layercam = A.map((a) => Math.max(0, a.reduce((s, v, k) => s + Math.max(0, w[k]) * v, 0)));
    const got = createCam(loaded, { class: cls }).explain(x)[0];
    expect([got.width, got.height, got.class]).toEqual([6, 6, cls]);
    expectClose(got.map, gradcam, 1e-5, 'gradcam');
    expectClose(createCam(loaded, { class: cls, method: 'layercam' }).explain(x)[0].map, layercam, 1e-5, 'layercam');
    // The score is the pre-softmax logit.
    const logit = A.reduce((s, a) => s + a.reduce((t, v, k) => t + DENSE[k * 2 + cls] * v, 0), 0) / 36;
    expect(got.score).toBeCloseTo(logit, 4);
    x.dispose();
  });

  test('a one-unit sigmoid head explains both classes: class 0 with the negative logit, and --class takes a label', () => {
    const dense = Float32Array.from([1.5, -1.0, 0.7]);
    const loaded = tinyNet(KERNEL, dense, 1, 'sigmoid');
    const x = tf.tensor4d(X, [1, 6, 6, 2]);
    const A = handActivations();
    const z = A.reduce((s, a) => s + a.reduce((t, v, k) => t + dense[k] * v, 0), 0) / 36;
    for (const [spec, sign, cls] of [['dog', 1, 1], ['cat', -1, 0], [0, -1, 0]] as const) {
      const m = createCam(loaded, { class: spec }).explain(x)[0];
      expect(m.class).toBe(cls);
      expect(m.score).toBeCloseTo(sign * z, 4);
      expectClose(m.map, A.map((a) => Math.max(0, a.reduce((s, v, k) => s + (sign * dense[k] * v) / 36, 0))), 1e-5, `class ${spec}`);
    }
    expect(() => createCam(loaded, { class: 'zebra' })).toThrow(/^unknown class 'zebra': give an index 0-1 or a label/);
    x.dispose();
  });
});

test('a graph model: Grad-CAM at its Relu node equals the hand-computed map (mean of a max-pool: weight 1/64 for the class channel)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-cam-graph-'));
  const loaded = await loadModel(writeGraphModel(dir));
  const layer = defaultCamLayer(loaded);
  expect(loaded.graph.layers[layer].className).toMatch(/Relu/);
  const x = tf.tensor4d(seeded(64, 3).map((v) => (v + 1) / 2), [1, 8, 8, 1]);
  const acts = tf.tidy(() => Array.from(tf.relu((loaded.graphModel!.execute(x, loaded.graph.layers[layer].node!) as tf.Tensor)).dataSync()));
  for (const cls of [0, 1]) {
    const m = createCam(loaded, { class: cls }).explain(x)[0];
    expect([m.width, m.height]).toEqual([8, 8]);
    expectClose(m.map, Array.from({ length: 64 }, (_, p) => acts[p * 2 + cls] / 64), 1e-5, `class ${cls}`);
  }
  const sal = createSaliency(loaded, { method: 'guided', class: 0 }).explain(x)[0];
  expect(mapStats(sal).max).toBeGreaterThan(0);
  x.dispose();
});

test('Gauss-Legendre nodes integrate polynomials up to degree 2n - 1 exactly on [0, 1]', () => {
  for (const n of [1, 2, 5, 64]) {
    const { nodes, weights } = gaussLegendre(n);
    for (let d = 0; d <= 2 * n - 1 && d <= 40; d++) expect(nodes.reduce((s, x, i) => s + weights[i] * x ** d, 0)).toBeCloseTo(1 / (d + 1), 10);
  }
});

test('the adaptive trapezoid rule integrates a piecewise constant integrand exactly where the fixed rules at the same count do not', () => {
  // Jumps finer than any fixed 64-node grid, as a ReLU network's gradient along a path has.
  const jumps = [77 / 256, 181 / 512, 833 / 1024];
  const levels = [2, -30, 9, 1];
  const h = (a: number) => levels[jumps.filter((t) => a >= t).length];
  const F = (a: number) => {
    let s = 0;
    let from = 0;
    for (let i = 0; i <= jumps.length; i++) {
      const to = Math.min(a, jumps[i] ?? 1);
      if (to > from) s += levels[i] * (to - from);
      from = Math.max(from, to);
    }
    return s;
  };
  const exact = F(1);
  const evaluated: number[] = [];
  const passes: number[] = [];
  const { nodes, weights } = adaptiveTrapezoid(64, (points) => {
    evaluated.push(...points);
    passes.push(points.length);
    return { values: points.map(h), primitive: points.map(F) };
  });
  // Every evaluation is used once and each is a node; once every panel is exact it stops early.
  expect(evaluated.length).toBeLessThan(64);
  expect(new Set(evaluated).size).toBe(evaluated.length);
  expect([...nodes].sort((a, b) => a - b)).toEqual([...evaluated].sort((a, b) => a - b));
  expect(passes.every((n) => n <= 9)).toBe(true);
  expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  const adaptive = nodes.reduce((s, x, i) => s + weights[i] * h(x), 0);
  expect(Math.abs(adaptive - exact)).toBeLessThan(1e-12);
  for (const rule of ['gauss-legendre', 'trapezoid', 'midpoint', 'left'] as const) {
    const q = quadrature(rule, 64);
    expect(Math.abs(q.nodes.reduce((s, x, i) => s + q.weights[i] * h(x), 0) - exact)).toBeGreaterThan(1e-3);
  }
  // The nodes gather at the jumps: at least 3 within 1/64 of each, where an even grid of as many nodes has at most 1.
  for (const t of jumps) expect(nodes.filter((x) => Math.abs(x - t) < 1 / 64).length).toBeGreaterThanOrEqual(3);
  expect(1 / 32).toBeLessThan(1 / (nodes.length - 1));
});

describe('default CAM layer', () => {
  test('the bundled model: its backbone\'s last 2x2-or-more feature map', async () => {
    const loaded = await loadModel(DEFAULT_MODEL);
    expect(loaded.graph.layers[defaultCamLayer(loaded)].name).toBe('base/conv_pw_13_relu');
  });

  test('a fully convolutional net: not its 1x1 logits conv (nor what follows it), nor pooling', () => {
    const input = tf.input({ shape: [16, 16, 3] });
    let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'features' }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 5, kernelSize: 1, name: 'logits' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.activation({ activation: 'relu', name: 'after' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.activation({ activation: 'softmax', name: 'softmax' }).apply(x) as tf.SymbolicTensor;
    const loaded = fromLayersModel(tf.model({ inputs: input, outputs: x }), 'fcn', META);
    expect(loaded.graph.layers[defaultCamLayer(loaded)].name).toBe('features');
    expect(() => createCam(loaded, { layer: 'gap' })).toThrow(/^layer \d+ gap has output \[null,5\], no spatial extent of at least 2x2/);
  });
});

describe('every method agrees between the wasm and cpu backends (within 1e-4 of the map maximum)', () => {
  const run = async (backend: 'wasm' | 'cpu', loaded: LoadedModel, x: Float32Array) => {
    await initBackend(backend);
    const input = tf.tensor4d(x, [1, 12, 12, 3]);
    const maps: AttributionMap[] = [];
    for (const method of CAM_METHODS) maps.push(createCam(loaded, { method }).explain(input)[0]);
    for (const method of SALIENCY_METHODS) maps.push(createSaliency(loaded, { method, samples: 8, steps: 16 }).explain(input)[0]);
    input.dispose();
    return maps;
  };
  afterAll(async () => void (await initBackend('wasm')));

  test('on a hand-built net with conv, batch norm, relu and relu6', async () => {
    const loaded = deeperNet();
    const x = seeded(12 * 12 * 3, 11).map((v) => (v + 1) / 2);
    const wasm = await run('wasm', loaded, x);
    const cpu = await run('cpu', loaded, x);
    expect(wasm.filter((m) => !(mapStats(m).max > 0)).map((m) => m.method)).toEqual([]);
    wasm.forEach((m, i) => expectClose(m.map, cpu[i].map, 1e-4, m.method));
  }, 60_000);
});

test('no tensor leaks: every method, run again and again, leaves the tensor count flat', () => {
  const loaded = deeperNet();
  const x = tf.tensor4d(seeded(12 * 12 * 3, 5).map((v) => (v + 1) / 2), [1, 12, 12, 3]);
  const explainers = [...CAM_METHODS.map((method) => createCam(loaded, { method, top: 2 })), ...SALIENCY_METHODS.map((method) => createSaliency(loaded, { method, samples: 3, steps: 3 }))];
  for (const e of explainers) e.explain(x);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) for (const e of explainers) e.explain(x);
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
});

describeWithShared('attribution on the shared MobileNet', MOBILENET)('attribution on the shared MobileNet', () => {
  let mobilenet: LoadedModel;
  beforeAll(async () => {
    await initBackend('wasm');
    mobilenet = await loadModel(MOBILENET);
  });

  test('the default layer is conv_pw_13_relu, and the scores are the softmax input (conv_preds)', async () => {
    expect(mobilenet.graph.layers[defaultCamLayer(mobilenet)].name).toBe('conv_pw_13_relu');
    const { tensor } = await loadModelInput(mobilenet, path.join(ROOT, 'examples/cat.jpg'));
    const [m] = createCam(mobilenet, {}).explain(tensor);
    const logits = tf.tidy(() => {
      const probe = (mobilenet.model as tf.LayersModel).getLayer('conv_preds').output as tf.SymbolicTensor;
      return (tf.model({ inputs: (mobilenet.model as tf.LayersModel).inputs, outputs: probe }).predict(tensor) as tf.Tensor).reshape([-1]).arraySync() as number[];
    });
    expect(m.class).toBe(logits.indexOf(Math.max(...logits)));
    expect(m.score).toBeCloseTo(Math.max(...logits), 3);
    tensor.dispose();
  });

  test('Grad-CAM and vanilla gradients agree between wasm and cpu', async () => {
    const { tensor } = await loadModelInput(mobilenet, path.join(ROOT, 'examples/cat.jpg'));
    const data = tensor.dataSync().slice();
    tensor.dispose();
    const maps = async (backend: 'wasm' | 'cpu') => {
      await initBackend(backend);
      const x = tf.tensor4d(data, [1, 224, 224, 3]);
      const out = [createCam(mobilenet, { class: 281 }).explain(x)[0], createSaliency(mobilenet, { class: 281 }).explain(x)[0]];
      x.dispose();
      return out;
    };
    const wasm = await maps('wasm');
    const cpu = await maps('cpu');
    await initBackend('wasm');
    wasm.forEach((m, i) => expectClose(m.map, cpu[i].map, 1e-4, m.method));
  }, 120_000);

  describeWithShared('IG completeness', VAL)('Integrated Gradients completeness', () => {
    test('over 20 val photos with |f(x) - f(baseline)| > 0.1, the median relative gap at 64 steps', async () => {
      const files = ['cat', 'dog'].flatMap((c) => readdirSync(path.join(VAL, c)).sort().slice(0, 10).map((f) => path.join(VAL, c, f)));
      const ig = createSaliency(mobilenet, { method: 'integrated-gradients', steps: 64 }); // the adaptive rule
      const gaps: number[] = [];
      for (const f of files) {
        const { tensor } = await loadModelInput(mobilenet, f);
        const [m] = ig.explain(tensor);
        tensor.dispose();
        const { fx, fBaseline, attributionSum } = m.detail!;
        const sum = m.map.reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(attributionSum, 2);
        if (Math.abs(fx - fBaseline) > 0.1) gaps.push(Math.abs(attributionSum - (fx - fBaseline)) / Math.abs(fx - fBaseline));
      }
      gaps.sort((a, b) => a - b);
      const median = (gaps[(gaps.length - 1) >> 1] + gaps[gaps.length >> 1]) / 2;
      console.log(`IG completeness: median relative gap ${(100 * median).toFixed(2)}% over ${gaps.length} photos at 64 adaptive steps`);
      expect(gaps.length).toBeGreaterThanOrEqual(15);
      // Acceptance: 1% (Gauss-Legendre at 64 steps measures 1.33% on these photos; docs/cam.md).
      expect(median).toBeLessThanOrEqual(0.01);
    }, 300_000);
  });
});

describe('the cam and saliency commands', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-cam-'));
  const cat = path.join(ROOT, 'examples/cat.jpg');

  test('many images with one bad file: a result per good image, one error line, exit 1', async () => {
    const r = await runCli(['cam', cat, path.join(dir, 'missing.jpg'), '--class', 'all', '-o', `${dir}/`, '--json']);
    expect(r.code).toBe(1);
    const lines = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ image: cat, layer: 'base/conv_pw_13_relu', method: 'gradcam', output: path.join(dir, 'cat.gradcam.png') });
    expect(lines[0].maps.map((m: { label: string }) => m.label)).toEqual(['cat', 'dog']);
    expect(lines[0].maps[0].score).toBeCloseTo(-lines[0].maps[1].score, 4);
    expect(lines[1]).toEqual({ image: path.join(dir, 'missing.jpg'), error: 'image not found' });
    expect(r.stderr).toMatch(/gradcam at layer 81 base\/conv_pw_13_relu \[7, 7, 256\]/);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('cnnviz: '))).toEqual([`cnnviz: ${path.join(dir, 'missing.jpg')}: image not found`]);
    expect(existsSync(path.join(dir, 'cat.gradcam.png'))).toBe(true);
  }, 60_000);

  test('--scale global draws every image of the run on one range: the weaker map stays darker', async () => {
    const out = path.join(dir, 'global/');
    const coffee = path.join(ROOT, 'examples/coffee.jpg');
    const brightest = async (file: string) => {
      const { data } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
      let best = 0;
      for (let i = 0; i < data.length; i += 3) best = Math.max(best, data[i] + data[i + 1] + data[i + 2]);
      return best;
    };
    const r = await runCli(['cam', cat, coffee, '--raw', '--scale', 'global', '-o', out, '--json']);
    expect(r.code).toBe(0);
    const [a, b] = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l).maps[0].max);
    expect(a).toBeGreaterThan(b);
    expect(await brightest(path.join(out, 'coffee.gradcam.png'))).toBeLessThan(await brightest(path.join(out, 'cat.gradcam.png')));
    const alone = await runCli(['cam', coffee, '--raw', '-o', path.join(dir, 'alone.png')]);
    expect(alone.code).toBe(0);
    // Alone (--scale map), the same map is stretched to its own peak.
    expect(await brightest(path.join(dir, 'alone.png'))).toBeGreaterThan(await brightest(path.join(out, 'coffee.gradcam.png')));
  }, 60_000);

  test('saliency -o - writes one PNG to stdout, the photo\'s size, and its line to stderr', async () => {
    const r = await runCli(['saliency', cat, '--method', 'gradxinput', '--raw', '-o', '-']);
    expect(r.code).toBe(0);
    expect(r.stdout.subarray(1, 4).toString()).toBe('PNG');
    expect(r.stderr).toMatch(/cat\.jpg: cat \(0\) score/);
    expect(readFileSync(cat).length).toBeGreaterThan(0);
  }, 60_000);
});
