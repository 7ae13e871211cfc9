import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { layerActivationFn } from '../src/model/layer-fn.js';
import { fromLayersModel, loadModel } from '../src/model/load.js';
import { probeActivations } from '../src/model/probe.js';
import { describeLayers } from '../src/model/summary.js';
import { GRAPH_BIAS, graphKernel, writeGraphModel } from './helpers/graph-fixture.js';
import { edgeModel, tempDir, verticalEdgeImage } from './helpers/models.js';
import { ROOT } from './helpers/cli.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** What the graph computes up to its Relu, written with tfjs ops. */
function reluReference(x: tf.Tensor4D): tf.Tensor4D {
  const kernel = tf.tensor4d(graphKernel(), [3, 3, 1, 2]);
  return tf.relu(tf.conv2d(x, kernel, 1, 'same').add(tf.tensor1d(GRAPH_BIAS))) as tf.Tensor4D;
}

function edgeInput(): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(verticalEdgeImage(8, 8, 4), (v) => v / 255), [1, 8, 8, 1]);
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);

describe('TF.js graph models', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = tempDir();
    file = writeGraphModel(path.join(dir, 'graph'));
  });

  test('layers lists the nodes that produce 4-D feature maps: name, op, shape', async () => {
    for (const withFormat of [true, false]) {
      const m = await loadModel(withFormat ? file : writeGraphModel(path.join(dir, 'noformat'), { withFormat: false }));
      expect(m.kind).toBe('graph');
      expect(m.inputShape).toEqual([8, 8, 1]);
      const summary = describeLayers(m);
      expect(summary.layers.map((l) => [l.name, l.className, l.outputShape])).toEqual([
        ['image', 'Placeholder', [null, 8, 8, 1]],
        ['edges/Conv2D', 'Conv2D', [null, 8, 8, 2]],
        ['edges/BiasAdd', 'BiasAdd', [null, 8, 8, 2]],
        ['edges/Relu', 'Relu', [null, 8, 8, 2]],
        ['pool/MaxPool', 'MaxPool', [null, 4, 4, 2]],
      ]);
      expect(summary.layers[1].isConv).toBe(true);
      expect(summary.layers[1].params).toBe(18);
      expect(summary.totalParams).toBe(18 + 2 + 2);
      expect(m.meta.labels).toEqual(['vertical', 'horizontal']);
    }
  });

  test('a graph that takes any image size lists spatial sizes as null and runs on any size', async () => {
    const m = await loadModel(writeGraphModel(path.join(dir, 'anysize'), { anySize: true }));
    expect(m.inputShape).toEqual([null, null, 1]);
    expect(describeLayers(m).layers.map((l) => l.outputShape)).toEqual([
      [null, null, null, 1],
      [null, null, null, 2],
      [null, null, null, 2],
      [null, null, null, 2],
      [null, null, null, 2],
    ]);
    const x = tf.zeros([1, 12, 20, 1]) as tf.Tensor4D;
    const { activations } = probeActivations(m, x, [4]);
    expect(activations[0].shape).toEqual([1, 6, 10, 2]);
    tf.dispose([x, ...activations]);
  });

  test('probeActivations fetches several nodes and the output in one execute, with the right values', async () => {
    const m = await loadModel(file);
    const x = edgeInput();
    const relu = m.graph.layers.findIndex((l) => l.name === 'edges/Relu');
    const { activations, final } = probeActivations(m, x, [0, relu, relu, 4], true);
    const expected = reluReference(x);
    expect(maxDiff(activations[0], x)).toBe(0);
    expect(maxDiff(activations[1], expected)).toBeLessThan(1e-6);
    expect(maxDiff(activations[2], expected)).toBeLessThan(1e-6);
    expect(activations[3].shape).toEqual([1, 4, 4, 2]);
    // The vertical-edge channel fires at the edge (columns 3 and 4), the horizontal one does not.
    const map = activations[1].dataSync();
    expect(map[(4 * 8 + 4) * 2]).toBeGreaterThan(2);
    expect(map[(4 * 8 + 4) * 2 + 1]).toBeLessThan(1e-6);
    expect(final!.shape).toEqual([1, 2]);
    // Code written for layers models still works: the wrapper LayersModel runs the graph.
    const predicted = m.model.predict(x) as tf.Tensor;
    expect(maxDiff(predicted, final!)).toBeLessThan(1e-6);
    const viaSymbolic = tf.model({ inputs: m.graph.inputs, outputs: m.graph.layers[relu].output }).predict(x) as tf.Tensor;
    expect(maxDiff(viaSymbolic, expected)).toBeLessThan(1e-6);
    tf.dispose([x, expected, predicted, viaSymbolic, final!, ...activations]);
  });

  test('layerActivationFn is differentiable through execute(): its gradient matches the same ops in tfjs', async () => {
    const m = await loadModel(file);
    const relu = m.graph.layers.findIndex((l) => l.name === 'edges/Relu');
    const fn = layerActivationFn(m, relu);
    expect(layerActivationFn(m, relu)).toBe(fn);
    const x = edgeInput();
    const channel0 = (t: tf.Tensor) => t.slice([0, 0, 0, 0], [-1, -1, -1, 1]).mean() as tf.Scalar;
    const before = tf.memory().numTensors;
    const got = tf.grad((v: tf.Tensor) => channel0(fn(v as tf.Tensor4D)))(x);
    const want = tf.grad((v: tf.Tensor) => channel0(reluReference(v as tf.Tensor4D)))(x);
    expect(tf.tidy(() => got.abs().sum().dataSync()[0])).toBeGreaterThan(0);
    expect(maxDiff(got, want)).toBeLessThan(1e-6);
    tf.dispose([got, want]);
    // Ten ascent steps leak nothing and raise the activation.
    let img = tf.randomUniform([1, 8, 8, 1], 0, 0.1, 'float32', 3) as tf.Tensor4D;
    const start = tf.tidy(() => channel0(fn(img)).dataSync()[0]);
    const base = tf.memory().numTensors;
    for (let step = 0; step < 10; step++) {
      const next = tf.tidy(() => img.add(tf.grad((v: tf.Tensor) => channel0(fn(v as tf.Tensor4D)))(img).mul(0.5)) as tf.Tensor4D);
      img.dispose();
      img = next;
    }
    expect(tf.memory().numTensors).toBe(base);
    expect(tf.tidy(() => channel0(fn(img)).dataSync()[0])).toBeGreaterThan(start);
    img.dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  });

  test('layerActivationFn works the same for layers models (probe model cut at the layer)', () => {
    const loaded = fromLayersModel(edgeModel(), 'edge', { name: 'edge', inputRange: [0, 1], inputRangeSource: 'default', extra: {} });
    const x = tf.tensor4d(Float32Array.from(verticalEdgeImage(16, 16, 8), (v) => v / 255), [1, 16, 16, 1]);
    const fn = layerActivationFn(loaded, 0);
    const a = fn(x);
    const direct = probeActivations(loaded, x, [0]).activations[0];
    expect(maxDiff(a, direct)).toBe(0);
    const g = tf.grad((v: tf.Tensor) => fn(v as tf.Tensor4D).mean() as tf.Scalar)(x);
    expect(tf.tidy(() => g.abs().sum().dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([x, a, direct, g]);
  });

  describe('from the CLI', () => {
    const cli = path.join(ROOT, 'bin/cnnviz.js');
    const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args, '--backend', 'cpu'], { encoding: 'utf8', cwd: dir });
    let image: string;
    beforeAll(async () => {
      image = path.join(dir, 'edge.png');
      await sharp(Buffer.from(verticalEdgeImage(8, 8, 4)), { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(image);
    });

    test('layers prints the nodes with their ops', () => {
      const r = run(['layers', '-m', file]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/edges\/Relu\s+Relu\s+\[null, 8, 8, 2\]/);
      expect(r.stdout).toMatch(/edges\/Conv2D\s+Conv2D \*\s+\[null, 8, 8, 2\]\s+18/);
      expect(r.stdout).toMatch(/^#\s+name\s+op\s+output shape/m);
      expect(r.stdout).toMatch(/5 graph nodes with 4-D outputs, 22 parameters/);
      expect(r.stderr).toBe('');
    });

    test('activations fetches a node by name', () => {
      const out = path.join(dir, 'relu.png');
      const r = run(['activations', image, '-m', file, '--layer', 'edges/Relu', '-o', out, '--json']);
      expect(r.status).toBe(0);
      const json = JSON.parse(r.stdout);
      expect(json.layers[0].name).toBe('edges/Relu');
      expect(json.layers[0].shape).toEqual([8, 8, 2]);
      expect(json.layers[0].channels[0].max).toBeGreaterThan(2);
      expect(json.predictions).toHaveLength(2);
      expect(readFileSync(out).subarray(1, 4).toString()).toBe('PNG');
    });

    const haveDream = existsSync(path.join(ROOT, 'dist/cli/dream.js'));
    if (!haveDream) console.warn('skipping graph-model dream CLI test: dist/cli/dream.js is not built');
    (haveDream ? test : test.skip)('a 10-step dream differentiates through the graph', () => {
      const out = path.join(dir, 'dream.png');
      const r = run(['dream', '-m', file, '--layer', 'edges/Relu', '--filter', '0', '--steps', '10', '--seed', '1', '--batch', '1', '-o', out, '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(existsSync(out)).toBe(true);
    });
  });
});
