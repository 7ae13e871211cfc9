import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { lastSpatialLayer } from '../src/model/default-layer.js';
import { loadModel } from '../src/model/load.js';
import { DEFAULT_AUGMENT } from '../src/train/augment.js';
import { trainFromFolder, type TrainRunOptions } from '../src/train/run.js';
import { parseFreeze } from '../src/train/transfer.js';
import { MOBILENET, SHARED, describeWithShared, runCli } from './helpers/cli.js';
import { saveModelTo, tempDir } from './helpers/models.js';
import { stripesDataset as stripesOf } from './helpers/datasets.js';

const DOODLENET = path.join(SHARED, 'data/models/doodlenet');

/**
 * A small "pretrained" backbone: conv → BN → ReLU, pool, conv → BN → ReLU (8×8×8), then its own
 * 5-class head. The batch norms' moving statistics are far from their defaults, so normalising
 * with a batch's own statistics (training mode) would give visibly different outputs and would
 * move them.
 */
function fixtureBackbone(): tf.LayersModel {
  const input = tf.input({ shape: [16, 16, 3], name: 'input_1' });
  let x = tf.layers.conv2d({ name: 'c1', filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.heNormal({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'c1_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'c1_relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ name: 'p1', poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ name: 'c2', filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.heNormal({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'c2_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'c2_relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'g' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: 'pred', units: 5, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'fixture' });
  for (const [name, shift] of [['c1_bn', 0.3], ['c2_bn', -0.2]] as const) {
    const bn = model.getLayer(name);
    const [gamma, beta] = bn.getWeights();
    bn.setWeights([gamma.mul(1.5), beta.add(0.1), tf.fill([8], shift), tf.fill([8], 2.5)]);
  }
  return model;
}

/** The shared stripes set at `size` px, 40 a class. */
const stripesDataset = (dir: string, size: number) => stripesOf(dir, 40, 11, size);

/** Every weight of a layer as bytes, for bit-for-bit comparison. */
function weightBytes(layer: tf.layers.Layer): Buffer[] {
  return layer.getWeights().map((w) => Buffer.from((w.dataSync() as Float32Array).buffer.slice(0)));
}

let backbone: string;
let data: string;
beforeAll(async () => {
  await initBackend('wasm');
  backbone = path.join(tempDir(), 'fixture');
  const model = fixtureBackbone();
  await saveModelTo(model, backbone, { inputRange: [0, 1], labels: ['a', 'b', 'c', 'd', 'e'] });
  model.dispose();
  data = await stripesDataset(path.join(tempDir(), 'stripes'), 16);
});

function options(output: string, base: Partial<NonNullable<TrainRunOptions['base']>>, extra: Partial<TrainRunOptions> = {}): TrainRunOptions {
  return {
    dataset: data,
    output,
    force: false,
    arch: 'vgg',
    inputSize: 96, // ignored: the backbone takes 16 px
    inputRange: [0, 1],
    epochs: 40,
    batchSize: 8,
    lr: 0.05,
    patience: 40,
    seed: 1,
    valSplit: 0.25,
    timeLimitMinutes: 0,
    augment: DEFAULT_AUGMENT,
    command: 'cnnviz train (test)',
    backend: 'wasm',
    base: { model: backbone, freeze: 3, fineTuneEpochs: 2, fineTuneLr: 0.01, views: 3, ...base },
    ...extra,
  };
}

describe('train --base (transfer learning on a fixture backbone)', () => {
  test('frozen layers stay bit-identical, batch norms keep their statistics, the head learns, and the saved model addresses base/<layer>', async () => {
    // Fill tfjs's bounded caches first, so the leak check below counts only this run.
    await trainFromFolder(options(path.join(tempDir(), 'warm-up'), {}, { epochs: 1 }));
    const before = tf.memory().numTensors;
    const out = path.join(tempDir(), 'model');
    const { loop, sidecar, modelFile } = await trainFromFolder(options(out, {}));
    expect(tf.memory().numTensors).toBe(before);

    // Two phases, numbered on: the head first, then the fine-tune epochs.
    expect(loop.history.filter((h) => h.phase === 'head').length).toBeGreaterThan(0);
    expect(loop.history.filter((h) => h.phase === 'fine-tune').map((h) => h.epoch)).toEqual([loop.history.length - 1, loop.history.length]);
    // 2 classes, 20 val pictures: chance is 50%.
    expect(loop.best.valAccuracy).toBeGreaterThanOrEqual(0.85);
    expect(sidecar).toMatchObject({ inputSize: 16, inputRange: [0, 1], labels: ['horizontal', 'vertical'], training: { arch: 'transfer', base: { layer: 'c2_relu', layerIndex: 7, freeze: 3 } } });

    const original = await loadModel(backbone);
    const trained = await loadModel(modelFile);
    const names = trained.graph.layers.map((l) => l.name);
    expect(names).toEqual(['image', 'base/c1', 'base/c1_bn', 'base/c1_relu', 'base/p1', 'base/c2', 'base/c2_bn', 'base/c2_relu', 'gap', 'head']);
    expect(trained.graph.layers[9].outputShape).toEqual([null, 1]);
    const base = trained.model.getLayer('base') as tf.LayersModel;
    // --freeze 3: c1, c1_bn (with its moving statistics) stay exactly as loaded ...
    for (const name of ['c1', 'c1_bn']) expect(weightBytes(base.getLayer(name))).toEqual(weightBytes(original.model.getLayer(name)));
    // ... c2 was fine-tuned, but its batch norm ran in inference mode: gamma and beta may
    // move, the moving mean and variance may not.
    expect(weightBytes(base.getLayer('c2'))).not.toEqual(weightBytes(original.model.getLayer('c2')));
    expect(weightBytes(base.getLayer('c2_bn')).slice(2)).toEqual(weightBytes(original.model.getLayer('c2_bn')).slice(2));

    // The saved model predicts what training measured on the same pictures.
    expect(trained.meta.labels).toEqual(['horizontal', 'vertical']);
    const listing = await runCli(['layers', '-m', out]);
    expect(listing.code).toBe(0);
    expect(listing.stdout.toString() + listing.stderr).toMatch(/base\/c2_relu/);
    original.model.dispose();
    trained.model.dispose();
  });

  test('--freeze all trains the head only: every backbone weight is bit-identical', async () => {
    const out = path.join(tempDir(), 'frozen');
    const { loop, modelFile } = await trainFromFolder(options(out, { freeze: 'all' }));
    expect(loop.history.every((h) => h.phase === 'head')).toBe(true);
    expect(loop.best.valAccuracy).toBeGreaterThanOrEqual(0.75);
    const original = await loadModel(backbone);
    const trained = await loadModel(modelFile);
    const base = trained.model.getLayer('base') as tf.LayersModel;
    for (const layer of base.layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      expect(weightBytes(layer)).toEqual(weightBytes(original.model.getLayer(layer.name)));
    }
    original.model.dispose();
    trained.model.dispose();
  });

  test('--freeze none fine-tunes every layer, and batch norms still keep their moving statistics', async () => {
    const { modelFile } = await trainFromFolder(options(path.join(tempDir(), 'none'), { freeze: 'none' }, { epochs: 3 }));
    const original = await loadModel(backbone);
    const trained = await loadModel(modelFile);
    const base = trained.model.getLayer('base') as tf.LayersModel;
    expect(weightBytes(base.getLayer('c1'))).not.toEqual(weightBytes(original.model.getLayer('c1')));
    for (const name of ['c1_bn', 'c2_bn']) expect(weightBytes(base.getLayer(name)).slice(2)).toEqual(weightBytes(original.model.getLayer(name)).slice(2));
    original.model.dispose();
    trained.model.dispose();
  });

  test('--base-layer cuts the backbone elsewhere, by name or index', async () => {
    const { sidecar, modelFile } = await trainFromFolder(options(path.join(tempDir(), 'cut'), { layer: 'c1_relu', freeze: 'all' }, { epochs: 2 }));
    expect(sidecar).toMatchObject({ training: { base: { layer: 'c1_relu', layerIndex: 3 } } });
    const trained = await loadModel(modelFile);
    expect(trained.graph.layers.map((l) => l.name)).toEqual(['image', 'base/c1', 'base/c1_bn', 'base/c1_relu', 'gap', 'head']);
    trained.model.dispose();
  });
});

describe('the default cut: lastSpatialLayer', () => {
  const shapes = (...s: (number | null)[][]) => s.map((outputShape, i) => ({ outputShape, className: i === 0 ? 'InputLayer' : 'X', name: `l${i}` }));
  test('is the last layer whose output is at least 2x2, before 1x1 maps and vectors', () => {
    expect(lastSpatialLayer(shapes([null, 32, 32, 3], [null, 16, 16, 8], [null, 2, 2, 8], [null, 8], [null, 1, 1, 8], [null, 2]))).toBe(2);
    expect(lastSpatialLayer(shapes([null, null, null, 3], [null, null, null, 8], [null, 8]))).toBe(1);
    expect(() => lastSpatialLayer(shapes([null, 8, 8, 3], [null, 1, 1, 4], [null, 4]))).toThrow(/no layer with a spatial output of at least 2x2/);
  });
  test('parseFreeze takes all, none or a count, and names a bad value', () => {
    expect(parseFreeze('ALL')).toBe('all');
    expect(parseFreeze('none')).toBe('none');
    expect(parseFreeze('12')).toBe(12);
    expect(() => parseFreeze('-3')).toThrow(/bad --freeze '-3'.*all.*none.*N/);
  });
});

describeWithShared('lastSpatialLayer on MobileNet', MOBILENET)('lastSpatialLayer on MobileNet', () => {
  test('is conv_pw_13_relu (7x7x256)', async () => {
    const loaded = await loadModel(MOBILENET);
    const i = lastSpatialLayer(loaded.graph.layers);
    expect(loaded.graph.layers[i].name).toBe('conv_pw_13_relu');
    expect(loaded.graph.layers[i].outputShape).toEqual([null, 7, 7, 256]);
    loaded.model.dispose();
  });
});

describeWithShared('train --base on DoodleNet', DOODLENET)('train --base on DoodleNet (28x28 grey)', () => {
  test('a head on its frozen features learns stripes; the backbone stays bit-identical', async () => {
    const grey = await stripesDataset(path.join(tempDir(), 'stripes28'), 28);
    const out = path.join(tempDir(), 'doodle');
    const { loop, sidecar, modelFile } = await trainFromFolder({ ...options(out, { model: DOODLENET, freeze: 'all' }), dataset: grey });
    expect(sidecar).toMatchObject({ inputSize: 28, training: { base: { layer: 'dropout' } } });
    expect(loop.best.valAccuracy).toBeGreaterThanOrEqual(0.75);
    const original = await loadModel(DOODLENET);
    const trained = await loadModel(modelFile);
    expect(trained.inputShape).toEqual([28, 28, 1]);
    const base = trained.model.getLayer('base') as tf.LayersModel;
    for (const name of ['conv2d', 'conv2d_3', 'conv2d_5']) expect(weightBytes(base.getLayer(name))).toEqual(weightBytes(original.model.getLayer(name)));
    original.model.dispose();
    trained.model.dispose();
  });
});

describe('cnnviz train --base (CLI)', () => {
  test('transfer flags without --base, a bad --freeze, a cut that is no feature map and a too-large N are one-line usage errors', async () => {
    const out = path.join(tempDir(), 'cli');
    const cases: [string[], RegExp][] = [
      [['--freeze', '3'], /--freeze goes with --base/],
      [['--base-layer', 'c1'], /--base-layer goes with --base/],
      [['--base', backbone, '--freeze', 'some'], /bad --freeze 'some'/],
      [['--base', backbone, '--base-layer', 'g'], /--base-layer g: layer 8 'g' \(GlobalAveragePooling2D.*not a feature map.*7 'c2_relu'/],
      [['--base', backbone, '--base-layer', 'nope'], /unknown layer 'nope'/],
      [['--base', backbone, '--freeze', '99', '--epochs', '1'], /--freeze 99: the backbone has 7 layers up to c2_relu.*0-7/],
      [['--base', backbone, '--arch', 'tiny'], /--arch and --base both choose the network/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['train', data, '-o', out, '--force', '--backend', 'wasm', ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(path.join(out, 'model.json'))).toBe(false);
  }, 300_000);
});

describe('the bundled model (models/catsdogs)', () => {
  test('is MobileNet with a new head, trained by train --base: layer 1 base/conv1, layer 25 base/conv_pw_4, the pooled layer 81 base/conv_pw_13_relu', async () => {
    const loaded = await loadModel();
    const layers = loaded.graph.layers;
    expect(layers).toHaveLength(84);
    expect([1, 25, 81, 82, 83].map((i) => layers[i].name)).toEqual(['base/conv1', 'base/conv_pw_4', 'base/conv_pw_13_relu', 'gap', 'head']);
    expect(lastSpatialLayer(layers)).toBe(81);
    expect(layers[1].outputShape).toEqual([null, 112, 112, 8]);
    expect(layers[25].outputShape).toEqual([null, 28, 28, 64]);
    expect(loaded.inputShape).toEqual([224, 224, 3]);
    expect(loaded.meta.inputRange).toEqual([-1, 1]);
    expect(loaded.meta.labels).toEqual(['cat', 'dog']);
    expect(loaded.meta.extra).toMatchObject({ training: { arch: 'transfer', base: { layer: 'conv_pw_13_relu' } } });
    loaded.model.dispose();
  });
});
