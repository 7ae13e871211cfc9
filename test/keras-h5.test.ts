import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../src/errors.js';
import { Normalization } from '../src/model/keras/custom-layers.js';
import { loadModel } from '../src/model/load.js';
import { loadModelInput } from '../src/model/probe.js';
import { describeLayers } from '../src/model/summary.js';
import { predictionGap, randomizeWeights, writeKeras2H5 } from './helpers/keras-fixtures.js';
import { tempDir } from './helpers/models.js';
import { ROOT, SHARED } from './helpers/cli.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const DOODLE_H5 = path.join(SHARED, 'data/models/doodlenet-keras-h5/doodleNet-model.h5');
const DOODLE_TFJS = path.join(SHARED, 'data/models/doodlenet/model.json');
const haveDoodle = existsSync(DOODLE_H5) && existsSync(DOODLE_TFJS);
if (!haveDoodle) console.warn(`skipping DoodleNet Keras .h5 tests: ${DOODLE_H5} not found (../shared is absent)`);
const withDoodle = haveDoodle ? describe : describe.skip;

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);
}

withDoodle('DoodleNet: a real Keras 2.2.4 model.save() file', () => {
  test('loads, lists the same 13 layers as the TF.js export, and predicts the same within 1e-5', async () => {
    const keras = await loadModel(DOODLE_H5);
    const tfjs = await loadModel(DOODLE_TFJS);
    const k = describeLayers(keras).layers.map(({ name, className, outputShape, params, receptiveField }) => ({ name, className, outputShape, params, receptiveField }));
    const t = describeLayers(tfjs).layers.map(({ name, className, outputShape, params, receptiveField }) => ({ name, className, outputShape, params, receptiveField }));
    expect(k).toHaveLength(13);
    expect(k).toEqual(t);
    // Six 3x3 'same' convs and three 2x2 pools: 3, 5, 6, 10, 14, 16, 24, 32, 36.
    expect(k.slice(0, 9).map((l) => l.receptiveField?.size[0])).toEqual([3, 5, 6, 10, 14, 16, 24, 32, 36]);
    expect(k[7].receptiveField).toEqual({ size: [32, 32], stride: [4, 4], global: false });
    expect(keras.inputShape).toEqual([28, 28, 1]);
    expect(keras.meta.labels).toHaveLength(345);

    // Random inputs, and a real photo the way cnnviz feeds it (gray, 28×28, range [0, 1]).
    const random = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 7);
    const { tensor: photo } = await loadModelInput(keras, path.join(SHARED, 'images/cat.jpg'));
    for (const x of [random, photo]) {
      const a = keras.model.predict(x) as tf.Tensor;
      const b = tfjs.model.predict(x) as tf.Tensor;
      expect(a.shape).toEqual([x.shape[0], 345]);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
      tf.dispose([a, b]);
    }
    tf.dispose([random, photo]);
  });
});

/** A functional model using the layers keras.applications networks are built from. */
function applicationsLikeModel(): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 3], name: 'image' });
  const pad = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'pad' }).apply(input) as tf.SymbolicTensor;
  const conv = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, name: 'stem_conv' }).apply(pad) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'stem_bn' }).apply(conv) as tf.SymbolicTensor;
  const relu6 = tf.layers.reLU({ maxValue: 6, name: 'stem_relu' }).apply(bn) as tf.SymbolicTensor;
  const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }).apply(relu6) as tf.SymbolicTensor;
  const sep = tf.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'sep' }).apply(relu6) as tf.SymbolicTensor;
  const added = tf.layers.add({ name: 'add' }).apply([dw, sep]) as tf.SymbolicTensor;
  const act = tf.layers.activation({ activation: 'sigmoid', name: 'gate' }).apply(added) as tf.SymbolicTensor;
  const mul = tf.layers.multiply({ name: 'mul' }).apply([relu6, act]) as tf.SymbolicTensor;
  // A nested block, as transfer learning leaves it (base model inside the classifier).
  const blockIn = tf.input({ shape: [6, 6, 8] });
  const blockConv = tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'block_conv' }).apply(blockIn) as tf.SymbolicTensor;
  const blockBn = tf.layers.batchNormalization({ name: 'block_bn' }).apply(blockConv) as tf.SymbolicTensor;
  const block = tf.model({ inputs: blockIn, outputs: blockBn, name: 'block' });
  const inner = block.apply(mul) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate({ name: 'cat' }).apply([mul, inner]) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(cat) as tf.SymbolicTensor;
  const gmp = tf.layers.globalMaxPooling2d({ name: 'gmp' }).apply(cat) as tf.SymbolicTensor;
  const both = tf.layers.concatenate({ name: 'pools' }).apply([gap, gmp]) as tf.SymbolicTensor;
  const reshaped = tf.layers.reshape({ targetShape: [4, 6], name: 'reshape' }).apply(both) as tf.SymbolicTensor;
  const flat = tf.layers.flatten({ name: 'flat' }).apply(reshaped) as tf.SymbolicTensor;
  const drop = tf.layers.dropout({ rate: 0.5, name: 'drop' }).apply(flat) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, activation: 'softmax', name: 'head' }).apply(drop) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'applications_like' });
  randomizeWeights(model, 3);
  return model;
}

describe('Keras 2 HDF5 files', () => {
  test('a functional model with nested block and every applications layer loads with the same outputs', async () => {
    const dir = tempDir();
    const reference = applicationsLikeModel();
    const file = await writeKeras2H5(path.join(dir, 'model.h5'), reference);
    const loaded = await loadModel(file);
    expect(predictionGap(loaded.model, reference, tf.randomUniform([2, 12, 12, 3], -1, 1, 'float32', 11))).toBeLessThan(1e-5);
    // The nested block is opened up: its layers are addressable like the others.
    const names = loaded.graph.layers.map((l) => l.name);
    expect(names).toContain('block/block_conv');
    expect(names[0]).toBe('image');
  });

  test('TF 2.x quirks load: EfficientNet-style Rescaling + adapted Normalization head, axis lists, ragged inputs', async () => {
    const dir = tempDir();
    const input = tf.input({ shape: [6, 6, 3], name: 'input_1' });
    const scaled = tf.layers.rescaling({ scale: 1 / 255, name: 'rescaling' }).apply(input) as tf.SymbolicTensor;
    const norm = new Normalization({ axis: -1, name: 'normalization' }).apply(scaled) as tf.SymbolicTensor;
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'swish', name: 'stem_conv' }).apply(norm) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ axis: 3, name: 'stem_bn' }).apply(conv) as tf.SymbolicTensor;
    const relu = tf.layers.reLU({ maxValue: 6, name: 'stem_relu' }).apply(bn) as tf.SymbolicTensor;
    const gap = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(relu) as tf.SymbolicTensor;
    const reference = tf.model({ inputs: input, outputs: gap, name: 'efficientnetb0' });
    randomizeWeights(reference, 9);
    reference.getLayer('normalization').setWeights([tf.tensor1d([0.485, 0.456, 0.406]), tf.tensor1d([0.052, 0.05, 0.051]), tf.scalar(0)]);
    // What TF 2.x writes and tfjs never does.
    const topology = reference.toJSON(null, false) as unknown as { class_name: string; config: { layers: Array<{ class_name: string; config: Record<string, unknown> }> } };
    const byClass = (c: string) => topology.config.layers.find((l) => l.class_name === c)!.config;
    byClass('InputLayer').ragged = false;
    byClass('BatchNormalization').axis = [3];
    Object.assign(byClass('ReLU'), { negative_slope: 0.0, threshold: 0.0 });
    byClass('Normalization').axis = [-1];
    const file = await writeKeras2H5(path.join(dir, 'efficientnet_like.h5'), reference, { config: topology, kerasVersion: '2.9.0' });
    const loaded = await loadModel(file);
    const x = tf.randomUniform([2, 6, 6, 3], 0, 255, 'float32', 5);
    const a = loaded.model.predict(x) as tf.Tensor;
    const b = reference.predict(x) as tf.Tensor;
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-4 * Math.max(1, tf.tidy(() => b.abs().max().dataSync()[0])));
    tf.dispose([x, a, b]);
    // The Rescaling head says "raw pixels", which beats the name guess (efficientnet → none anyway).
    expect(loaded.meta.inputRange).toEqual([0, 255]);
    expect(loaded.meta.inputRangeSource).toBe('Rescaling layer');
  });

  test("TF 2.x MobileNetV3's TFOpLambda arithmetic (x + 3., x * (1/6)) rebuilds as layers", async () => {
    const dir = tempDir();
    const input = tf.input({ shape: [4, 4, 2], name: 'input_1' });
    const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'conv' }).apply(input) as tf.SymbolicTensor;
    const weightsOnly = tf.model({ inputs: input, outputs: conv });
    randomizeWeights(weightsOnly, 4);
    const node = (name: string, kwargs: Record<string, unknown> = {}) => [[name, 0, 0, kwargs]];
    const config = {
      class_name: 'Functional',
      config: {
        name: 'mobilenetv3small',
        layers: [
          { class_name: 'InputLayer', config: { batch_input_shape: [null, 4, 4, 2], dtype: 'float32', sparse: false, ragged: false, name: 'input_1' }, name: 'input_1', inbound_nodes: [] },
          { class_name: 'Conv2D', config: { name: 'conv', filters: 2, kernel_size: [1, 1], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], activation: 'linear', use_bias: true }, name: 'conv', inbound_nodes: [node('input_1')] },
          { class_name: 'TFOpLambda', config: { name: 'tf.__operators__.add', trainable: true, dtype: 'float32', function: '__operators__.add' }, name: 'tf.__operators__.add', inbound_nodes: [node('conv', { y: 3.0, name: null })] },
          { class_name: 'ReLU', config: { name: 're_lu', max_value: 6.0, negative_slope: 0.0, threshold: 0.0 }, name: 're_lu', inbound_nodes: [node('tf.__operators__.add')] },
          { class_name: 'TFOpLambda', config: { name: 'tf.math.multiply', trainable: true, dtype: 'float32', function: 'math.multiply' }, name: 'tf.math.multiply', inbound_nodes: [node('re_lu', { y: 0.16666666666666666, name: null })] },
          { class_name: 'Multiply', config: { name: 'se_mul' }, name: 'se_mul', inbound_nodes: [[['input_1', 0, 0, {}], ['tf.math.multiply', 0, 0, {}]]] },
        ],
        input_layers: [['input_1', 0, 0]],
        output_layers: [['se_mul', 0, 0]],
      },
    };
    const file = await writeKeras2H5(path.join(dir, 'mnv3.h5'), weightsOnly, { config, kerasVersion: '2.9.0' });
    const loaded = await loadModel(file);
    expect(loaded.graph.layers.map((l) => l.className)).toEqual(['InputLayer', 'Conv2D', 'ScalarOp', 'ReLU', 'ScalarOp', 'Multiply']);
    const x = tf.randomUniform([1, 4, 4, 2], -4, 4, 'float32', 13);
    const got = loaded.model.predict(x) as tf.Tensor;
    const want = tf.tidy(() => x.mul(tf.relu6((weightsOnly.predict(x) as tf.Tensor).add(3)).mul(1 / 6)));
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
    tf.dispose([x, got, want]);
  });

  test('weights are matched by name and shape-checked: a wrong shape is named', async () => {
    const dir = tempDir();
    const reference = applicationsLikeModel();
    const topology = reference.toJSON(null, false) as unknown as { class_name: string; config: { layers: Array<{ name: string; config: Record<string, unknown> }> } };
    const head = topology.config.layers.find((l) => l.name === 'head')!;
    head.config.units = 7;
    const file = await writeKeras2H5(path.join(dir, 'bad-shape.h5'), reference, { config: topology });
    await expect(loadModel(file)).rejects.toThrow(/weight 'head\/kernel' of layer 'head' has shape \[24, 5\] in the file but the rebuilt layer needs \[24, 7\]/);
  });

  test('a weights-only file (model.save_weights) says a full model is needed and how to save one', async () => {
    const dir = tempDir();
    const file = await writeKeras2H5(path.join(dir, 'model.weights.h5'), applicationsLikeModel(), { weightsOnly: true });
    const err = await loadModel(file).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/holds only weights/);
    expect(err.message).toMatch(/model\.save\('model\.keras'\)/);
    expect(err.message).not.toMatch(/\n/);
  });

  test('a Lambda layer is one line naming the layer, its class and its index', async () => {
    const dir = tempDir();
    const reference = applicationsLikeModel();
    const topology = reference.toJSON(null, false) as unknown as { config: { layers: Array<Record<string, unknown>> } };
    const pad = topology.config.layers[1];
    pad.class_name = 'Lambda';
    pad.config = { name: 'pad', function: ['4wEAAAAAAAAA', null, null], function_type: 'lambda', arguments: {} };
    const file = await writeKeras2H5(path.join(dir, 'lambda.h5'), reference, { config: topology });
    const err = await loadModel(file).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/layer 'pad' \(index 1, class Lambda\) is a Lambda layer/);
    expect(err.message).not.toMatch(/\n/);
  });

  test('an unknown custom layer class is one line naming the layer, its class and its index', async () => {
    const dir = tempDir();
    const reference = applicationsLikeModel();
    const topology = reference.toJSON(null, false) as unknown as { config: { layers: Array<Record<string, unknown>> } };
    const gate = topology.config.layers.find((l) => l.name === 'gate')!;
    gate.class_name = 'SqueezeExcite';
    const file = await writeKeras2H5(path.join(dir, 'custom.h5'), reference, { config: topology });
    const err = await loadModel(file).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    const index = topology.config.layers.indexOf(gate);
    expect(err.message).toMatch(new RegExp(`layer 'gate' \\(index ${index}, class SqueezeExcite\\) is not a layer cnnviz knows`));
  });

  test('a truncated .h5 says it is truncated and by how much', async () => {
    const dir = tempDir();
    const file = await writeKeras2H5(path.join(dir, 'whole.h5'), applicationsLikeModel());
    const bytes = readFileSync(file);
    const cut = path.join(dir, 'cut.h5');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const err = await loadModel(cut).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe(`cannot open ${cut}: the file is truncated (${Math.floor(bytes.length / 2)} of ${bytes.length} bytes); copy or download it again`);
  });

  test("a corrupt .h5 is one line quoting HDF5's reason, without HDF5's diagnostic stack on stderr", async () => {
    const dir = tempDir();
    const file = await writeKeras2H5(path.join(dir, 'whole.h5'), applicationsLikeModel());
    const bytes = readFileSync(file);
    bytes.fill(0xab, 100, 400);
    const bad = path.join(dir, 'corrupt.h5');
    writeFileSync(bad, bytes);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), 'layers', '-m', bad, '--backend', 'cpu'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot read .*corrupt\.h5: HDF5 says ".+"; is the file truncated or corrupt\?/);
  });

  test('a file that is neither HDF5 nor zip is named as such', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'notes.h5');
    writeFileSync(file, 'just text');
    await expect(loadModel(file)).rejects.toThrow(/neither a Keras 3 \.keras archive \(zip\) nor a Keras HDF5 file/);
  });
});
