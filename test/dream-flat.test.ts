import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { channelRead, flatDreamNote, linearInPicture, luminanceStd } from '../src/dream/flat.js';
import { createProbe } from '../src/dream/probe.js';
import { readImage } from '../src/image/io.js';
import { loadModel } from '../src/model/load.js';
import { runCli } from './helpers/cli.js';
import { saveModelTo, tempDir } from './helpers/models.js';

/**
 * 24 px RGB: conv 'c1' straight on the picture (linear) → BN → ReLU6 → conv 'c2' (relu) → pool.
 * Filter 0 of c1 is a horizontal-line detector with no DC part; filter 1 is dead (zero kernel,
 * and a batch norm that keeps it below 0), as two of MobileNet's first-layer filters are.
 */
function firstLayerModel(): tf.LayersModel {
  const input = tf.input({ shape: [24, 24, 3], name: 'input_1' });
  let x = tf.layers.conv2d({ name: 'c1', filters: 2, kernelSize: 3, padding: 'same', useBias: false }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'c1_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'c1_relu', maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ name: 'c2', filters: 2, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 4 }) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'g' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  const k = new Float32Array(3 * 3 * 3 * 2);
  const rows = [1, -2, 1];
  for (let y = 0; y < 3; y++) for (let xx = 0; xx < 3; xx++) for (let c = 0; c < 3; c++) k[((y * 3 + xx) * 3 + c) * 2] = rows[y];
  model.getLayer('c1').setWeights([tf.tensor4d(k, [3, 3, 3, 2])]);
  model.getLayer('c1_bn').setWeights([tf.tensor1d([1, 1]), tf.tensor1d([0, -1]), tf.tensor1d([0, 0]), tf.tensor1d([1, 1])]);
  return model;
}

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = path.join(tempDir('cnnviz-flat-'), 'first');
  const model = firstLayerModel();
  await saveModelTo(model, dir, { inputRange: [0, 1] });
  model.dispose();
});

describe('dreams whose optimum is a flat colour', () => {
  test('linearInPicture: the first conv and its batch norm are, anything after a nonlinearity is not', async () => {
    const loaded = await loadModel(dir);
    const names = loaded.graph.layers.map((l) => l.name);
    expect(names).toEqual(['input_1', 'c1', 'c1_bn', 'c1_relu', 'c2', 'g']);
    expect([1, 2, 3, 4].map((i) => linearInPicture(loaded.graph.layers, i))).toEqual([true, true, false, false]);
    loaded.model.dispose();
  });

  test('dreaming the linear first conv reads relu(c1_bn) and says so; the line detector paints structure, the dead filter is named', async () => {
    const out = path.join(dir, '..', 'l1.png');
    const r = await runCli(['dream', '-m', dir, '--layer', '1', '--filters', '0,1', '--steps', '64', '--seed', '1', '--out-dir', path.join(dir, '..', 'each'), '-o', out, '--json']);
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/layer 1 c1 is linear in the picture, so its channel mean peaks at a flat colour: dreaming relu\(c1_bn\)/);
    expect(lines.filter((l) => /filter 1: the dream is a flat colour .*dead filter/.test(l))).toHaveLength(1);
    expect(lines.some((l) => /filter 0:/.test(l))).toBe(false);
    const json = JSON.parse(r.stdout.toString());
    expect(json.target).toBe('relu(c1_bn)');
    expect(json.filters[1].objective).toBe(0);
    expect(json.filters[0].objective).toBeGreaterThan(0.5);
    // Not a flat colour: the line detector's dream has structure (24 px, the model's size).
    const zero = await readImage(path.join(dir, '..', 'each', 'dream.c1.0.png'), { channels: 3 });
    expect(luminanceStd(zero)).toBeGreaterThan(0.08);
  });

  test('channelRead says what a channel objective reads, and a probe notes a read that is linear in the picture', async () => {
    const loaded = await loadModel(dir);
    expect(channelRead(loaded, 1)).toMatchObject({ read: { layer: 2 }, relu: true, name: 'relu(c1_bn)' });
    expect(channelRead(loaded, 1).note).toMatch(/dreaming relu\(c1_bn\)/);
    expect(channelRead(loaded, 4)).toEqual({ read: { layer: 4 }, relu: false, name: 'c2' });
    const probe = createProbe(loaded, [{ layer: 1 }, { layer: 4 }]);
    expect(probe.notes[0]).toMatch(/^layer 1 c1 is linear in the picture: an objective that averages it over positions peaks at a flat colour/);
    expect(probe.notes[1]).toBeUndefined();
    loaded.model.dispose();
  });

  test('a layer after a nonlinearity is dreamed as it is, without a note', async () => {
    const r = await runCli(['dream', '-m', dir, '--layer', 'c2', '--filter', '0', '--steps', '16', '--seed', '1', '-o', path.join(dir, '..', 'c2.png'), '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout.toString()).target).toBe('c2');
  });

  test('luminanceStd and flatDreamNote: a flat picture is flagged, stripes are not', () => {
    const flat = { data: new Uint8Array(8 * 8 * 3).fill(200), width: 8, height: 8, channels: 3 as const };
    const stripes = { data: Uint8Array.from({ length: 64 }, (_, i) => (Math.floor(i / 8) % 2 ? 255 : 0)), width: 8, height: 8, channels: 1 as const };
    expect(luminanceStd(flat)).toBeCloseTo(0, 6);
    expect(luminanceStd(stripes)).toBeCloseTo(0.5, 6);
    expect(flatDreamNote(3, flat, 0)).toMatch(/filter 3: the dream is a flat colour \(luminance std 0\.000, objective 0\.000\): .*dead filter/);
    expect(flatDreamNote(3, flat, 2)).toMatch(/optimum is a flat colour/);
    expect(flatDreamNote(3, stripes, 2)).toBeUndefined();
  });
});
