import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../src/errors.js';
import { h5wasm } from '../src/model/keras/h5.js';
import { HardSigmoidKeras3, HardSwish, Normalization } from '../src/model/keras/custom-layers.js';
import { toSnakeCase } from '../src/model/keras/load.js';
import { loadModel } from '../src/model/load.js';
import { describeLayers } from '../src/model/summary.js';
import { probeActivations } from '../src/model/probe.js';
import { jest } from '@jest/globals';
import { POLICY, k3Input, k3Layer, k3Sequential, kerasTensor, layerArrays, predictionGap, randomizeWeights, writeKeras2H5, writeKeras3Zip } from './helpers/keras-fixtures.js';
import { saveModelTo, tempDir } from './helpers/models.js';
import { ROOT } from './helpers/cli.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * The same small network twice: built directly in tfjs (the reference), and as the
 * config.json Keras 3 writes for it: Rescaling, Normalization, Conv2D, BatchNormalization,
 * a nested Sequential (Conv2D + ReLU(max 6)), Add, GlobalAveragePooling2D and Dense.
 */
function referenceModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'input_layer' });
  const scaled = tf.layers.rescaling({ scale: 1 / 127.5, offset: -1, name: 'rescaling' }).apply(input) as tf.SymbolicTensor;
  const norm = new Normalization({ axis: -1, name: 'normalization' }).apply(scaled) as tf.SymbolicTensor;
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv2d' }).apply(norm) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'batch_normalization' }).apply(conv) as tf.SymbolicTensor;
  const seq = tf.sequential({
    name: 'sequential',
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 4], filters: 4, kernelSize: 3, padding: 'same', name: 'conv2d_1' }),
      tf.layers.reLU({ maxValue: 6, name: 'inner_relu' }),
    ],
  });
  const inner = seq.apply(bn) as tf.SymbolicTensor;
  const added = tf.layers.add({ name: 'add' }).apply([bn, inner]) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(added) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'dense' }).apply(gap) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'functional' });
  randomizeWeights(model, 5);
  const normLayer = model.getLayer('normalization');
  normLayer.setWeights([tf.tensor1d([10, -20, 30]), tf.tensor1d([4, 9, 16]), tf.scalar(100)]);
  return model;
}

const initializer = (cls: string) => ({ module: 'keras.initializers', class_name: cls, config: { seed: null }, registered_name: null });
const convConfig = (filters: number, activation: string) => ({
  filters,
  kernel_size: [3, 3],
  strides: [1, 1],
  padding: 'same',
  data_format: 'channels_last',
  dilation_rate: [1, 1],
  groups: 1,
  activation,
  use_bias: true,
  kernel_initializer: initializer('GlorotUniform'),
  bias_initializer: { module: 'keras.initializers', class_name: 'Zeros', config: {}, registered_name: null },
  kernel_regularizer: null,
  bias_regularizer: null,
  activity_regularizer: null,
  kernel_constraint: null,
  bias_constraint: null,
});

function keras3Config(): Record<string, unknown> {
  const map = [null, 8, 8, 4];
  const sequential = {
    module: 'keras',
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      trainable: true,
      dtype: POLICY,
      layers: [
        k3Input('input_layer_1', [null, 8, 8, 4], false),
        k3Layer('Conv2D', 'conv2d_1', convConfig(4, 'linear'), undefined, map),
        k3Layer('ReLU', 'inner_relu', { max_value: 6.0, negative_slope: 0.0, threshold: 0.0 }, undefined, map),
      ],
      build_input_shape: map,
    },
    registered_name: null,
    build_config: { input_shape: map },
    name: 'sequential',
    inbound_nodes: [{ args: [kerasTensor('batch_normalization', map)], kwargs: { mask: null } }],
  };
  return {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: {
      name: 'functional',
      trainable: true,
      layers: [
        k3Input('input_layer', [null, 8, 8, 3], true),
        k3Layer('Rescaling', 'rescaling', { scale: 0.00784313725490196, offset: -1.0 }, kerasTensor('input_layer', [null, 8, 8, 3])),
        k3Layer('Normalization', 'normalization', { axis: [-1], invert: false, mean: null, variance: null }, kerasTensor('rescaling', [null, 8, 8, 3]), [null, 8, 8, 3]),
        k3Layer('Conv2D', 'conv2d', convConfig(4, 'relu'), kerasTensor('normalization', [null, 8, 8, 3]), [null, 8, 8, 3]),
        k3Layer(
          'BatchNormalization',
          'batch_normalization',
          { axis: -1, momentum: 0.99, epsilon: 0.001, center: true, scale: true, synchronized: false, gamma_initializer: initializer('Ones') },
          kerasTensor('conv2d', map),
          map,
        ),
        sequential,
        k3Layer('Add', 'add', {}, [kerasTensor('batch_normalization', map), kerasTensor('sequential', map)], [map, map]),
        k3Layer('GlobalAveragePooling2D', 'global_average_pooling2d', { data_format: 'channels_last', keepdims: false }, kerasTensor('add', map), map),
        k3Layer('Dense', 'dense', { units: 3, activation: 'softmax', use_bias: true, kernel_initializer: initializer('GlorotUniform'), lora_rank: null }, kerasTensor('global_average_pooling2d', [null, 4]), [null, 4]),
      ],
      // Keras 3 writes a lone input as a flat triple, outputs as a list of triples.
      input_layers: ['input_layer', 0, 0],
      output_layers: [['dense', 0, 0]],
    },
    registered_name: 'Functional',
    build_config: { input_shape: null },
    compile_config: null,
  };
}

/** The weights file, laid out by saving_lib: per-container slots named by snake-cased class. */
function keras3Weights(model: tf.LayersModel) {
  const seq = model.getLayer('sequential') as tf.LayersModel;
  const norm = layerArrays(model.getLayer('normalization'));
  // Keras keeps the Normalization sample count as an int64 scalar.
  norm[2] = { shape: [], values: BigInt64Array.of(100n) };
  return {
    'layers/input_layer': [],
    'layers/rescaling': [],
    'layers/normalization': norm,
    'layers/conv2d': layerArrays(model.getLayer('conv2d')),
    'layers/batch_normalization': layerArrays(model.getLayer('batch_normalization')),
    'layers/sequential/layers/conv2d': layerArrays(seq.getLayer('conv2d_1')),
    'layers/sequential/layers/re_lu': [],
    'layers/add': [],
    'layers/global_average_pooling2d': [],
    'layers/dense': layerArrays(model.getLayer('dense')),
  };
}

describe('Keras 3 .keras archives', () => {
  let dir: string;
  let reference: tf.LayersModel;
  let file: string;
  beforeAll(async () => {
    dir = tempDir();
    reference = referenceModel();
    file = await writeKeras3Zip(path.join(dir, 'model.keras'), keras3Config(), keras3Weights(reference));
  });

  test('load and compute what the same model built in tfjs computes', async () => {
    const loaded = await loadModel(file);
    expect(loaded.model.outputs[0].shape).toEqual([null, 3]);
    expect(predictionGap(loaded.model, reference, tf.randomUniform([3, 8, 8, 3], 0, 255, 'float32', 3))).toBeLessThan(1e-5);
    const names = describeLayers(loaded).layers.map((l) => `${l.name}:${l.className}`);
    expect(names).toEqual([
      'input_layer:InputLayer',
      'rescaling:Rescaling',
      'normalization:Normalization',
      'conv2d:Conv2D',
      'batch_normalization:BatchNormalization',
      'sequential/conv2d_1:Conv2D',
      'sequential/inner_relu:ReLU',
      'add:Add',
      'global_average_pooling2d:GlobalAveragePooling2D',
      'dense:Dense',
    ]);
  });

  test('a top-level Sequential (the usual small classifier) loads, its InputLayer folded away as Keras lists it', async () => {
    const seq = tf.sequential({
      name: 'sequential',
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'relu', name: 'conv2d' }),
        tf.layers.maxPooling2d({ poolSize: 2, name: 'max_pooling2d' }),
        tf.layers.flatten({ name: 'flatten' }),
        tf.layers.dense({ units: 2, activation: 'softmax', name: 'dense' }),
      ],
    });
    randomizeWeights(seq, 8);
    const config = k3Sequential('sequential', [null, 6, 6, 1], [
      k3Layer('Conv2D', 'conv2d', { ...convConfig(3, 'relu'), padding: 'valid' }, undefined, [null, 6, 6, 1]),
      k3Layer('MaxPooling2D', 'max_pooling2d', { pool_size: [2, 2], padding: 'valid', strides: [2, 2], data_format: 'channels_last' }, undefined, [null, 4, 4, 3]),
      k3Layer('Flatten', 'flatten', { data_format: 'channels_last' }, undefined, [null, 2, 2, 3]),
      k3Layer('Dense', 'dense', { units: 2, activation: 'softmax', use_bias: true }, undefined, [null, 12]),
    ]);
    const file = await writeKeras3Zip(path.join(dir, 'sequential.keras'), config, {
      'layers/conv2d': layerArrays(seq.getLayer('conv2d')),
      'layers/max_pooling2d': [],
      'layers/flatten': [],
      'layers/dense': layerArrays(seq.getLayer('dense')),
    });
    const loaded = await loadModel(file);
    expect(loaded.graph.layers.map((l) => l.name)).toEqual(['conv2d', 'max_pooling2d', 'flatten', 'dense']);
    expect(predictionGap(loaded.model, seq, tf.randomUniform([2, 6, 6, 1], 0, 1, 'float32', 2))).toBeLessThan(1e-5);
  });

  test("a Sequential around a functional base model, as in transfer learning (Sequential([InceptionV3(...), GAP, Dense]))", async () => {
    const input = tf.input({ shape: [8, 8, 3], name: 'base_input' });
    const features = tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv2d' }).apply(input) as tf.SymbolicTensor;
    const base = tf.model({ inputs: input, outputs: features, name: 'base' });
    const seq = tf.sequential({ layers: [base, tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }), tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'dense' })] });
    randomizeWeights(seq, 4);
    const baseConfig = {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: {
        name: 'base',
        trainable: true,
        layers: [
          k3Input('base_input', [null, 8, 8, 3], true),
          k3Layer('Conv2D', 'conv2d', { ...convConfig(5, 'relu'), kernel_size: [3, 3] }, kerasTensor('base_input', [null, 8, 8, 3]), [null, 8, 8, 3]),
        ],
        input_layers: ['base_input', 0, 0],
        output_layers: [['conv2d', 0, 0]],
      },
      registered_name: 'Functional',
      build_config: { input_shape: [null, 8, 8, 3] },
    };
    const config = k3Sequential('sequential', [null, 8, 8, 3], [
      baseConfig,
      k3Layer('GlobalAveragePooling2D', 'global_average_pooling2d', { data_format: 'channels_last', keepdims: false }, undefined, [null, 8, 8, 5]),
      k3Layer('Dense', 'dense', { units: 1, activation: 'sigmoid', use_bias: true }, undefined, [null, 5]),
    ]);
    const file = await writeKeras3Zip(path.join(dir, 'transfer.keras'), config, {
      'layers/functional/layers/conv2d': layerArrays((seq.layers[0] as tf.LayersModel).getLayer('conv2d')),
      'layers/global_average_pooling2d': [],
      'layers/dense': layerArrays(seq.getLayer('dense')),
    });
    // The outer InputLayer's [8, 8, 3] once landed on the pooling layer, which then warned on every call.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const loaded = await loadModel(file);
      expect(loaded.graph.layers.map((l) => l.name)).toEqual(['base/conv2d', 'global_average_pooling2d', 'dense']);
      expect(predictionGap(loaded.model, seq, tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 5))).toBeLessThan(1e-5);
      const x = tf.randomUniform([1, 8, 8, 3]) as tf.Tensor4D;
      tf.dispose(probeActivations(loaded, x, loaded.graph.layers.map((l) => l.index)).activations);
      x.dispose();
      expect(warn.mock.calls.map((c) => String(c[0])).filter((m) => /does not match/.test(m))).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });

  test('global pooling with keepdims=True (MobileNetV3 squeeze-excite) keeps the spatial axes', async () => {
    const kernel = tf.tensor4d([1, 0, -1, 2, 0.5, 3], [1, 1, 2, 3]);
    const bias = tf.tensor1d([0.1, 0.2, 0.3]);
    const config = k3Sequential('se', [null, 4, 4, 2], [
      k3Layer('GlobalAveragePooling2D', 'squeeze', { data_format: 'channels_last', keepdims: true }, undefined, [null, 4, 4, 2]),
      k3Layer('Conv2D', 'excite', { ...convConfig(3, 'linear'), kernel_size: [1, 1] }, undefined, [null, 1, 1, 2]),
      k3Layer('GlobalMaxPooling2D', 'max', { data_format: 'channels_last', keepdims: true }, undefined, [null, 1, 1, 3]),
    ]);
    const file = await writeKeras3Zip(path.join(dir, 'keepdims.keras'), config, {
      'layers/conv2d': [
        { shape: [1, 1, 2, 3], values: kernel.dataSync() as Float32Array },
        { shape: [3], values: bias.dataSync() as Float32Array },
      ],
    });
    const loaded = await loadModel(file);
    expect(describeLayers(loaded).layers.map((l) => [l.className, l.outputShape])).toEqual([
      ['GlobalAveragePooling2DKeepDims', [null, 1, 1, 2]],
      ['Conv2D', [null, 1, 1, 3]],
      ['GlobalMaxPooling2DKeepDims', [null, 1, 1, 3]],
    ]);
    const x = tf.randomUniform([2, 4, 4, 2], -1, 1, 'float32', 6);
    const got = loaded.model.predict(x) as tf.Tensor;
    const want = tf.conv2d(x.mean([1, 2], true) as tf.Tensor4D, kernel, 1, 'valid').add(bias);
    expect(tf.tidy(() => got.sub(want).abs().max().dataSync()[0])).toBeLessThan(1e-6);
    tf.dispose([kernel, bias, x, got, want]);
  });

  test("Keras 3's legacy model.save('m.h5') (Keras 3 config, model_weights groups) loads too", async () => {
    const h5file = await writeKeras2H5(path.join(dir, 'legacy.h5'), reference, { config: keras3Config(), kerasVersion: '3.6.0' });
    const loaded = await loadModel(h5file);
    expect(predictionGap(loaded.model, reference, tf.randomUniform([2, 8, 8, 3], 0, 255, 'float32', 4))).toBeLessThan(1e-5);
  });

  test('a leading Rescaling(1/127.5, -1) means the model takes raw [0, 255] pixels', async () => {
    const loaded = await loadModel(file);
    expect(loaded.meta.inputRange).toEqual([0, 255]);
    expect(loaded.meta.inputRangeSource).toBe('Rescaling layer');
    const flagged = await loadModel(file, { inputRange: [0, 1] });
    expect(flagged.meta.inputRange).toEqual([0, 1]);
    expect(flagged.meta.inputRangeSource).toBe('flag');
  });

  test('the same Rescaling rule holds for a TF.js layers model, and cnnviz.json still wins', async () => {
    const model = tf.sequential({ layers: [tf.layers.rescaling({ inputShape: [4, 4, 3], scale: 1 / 255, name: 'rescaling' }), tf.layers.conv2d({ filters: 2, kernelSize: 3, name: 'conv' })] });
    const plain = await loadModel(await saveModelTo(model, path.join(dir, 'tfjs-rescaling')));
    expect([plain.meta.inputRange, plain.meta.inputRangeSource]).toEqual([[0, 255], 'Rescaling layer']);
    const sidecar = await loadModel(await saveModelTo(model, path.join(dir, 'tfjs-sidecar'), { inputRange: [0, 1] }));
    expect([sidecar.meta.inputRange, sidecar.meta.inputRangeSource]).toEqual([[0, 1], 'cnnviz.json']);
  });

  test('a zip without config.json names what it holds', async () => {
    const bad = await writeKeras3Zip(path.join(dir, 'noconfig.keras'), keras3Config(), keras3Weights(reference), { omit: ['config.json'] });
    const err = await loadModel(bad).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe(`cannot load ${bad}: the archive has no config.json (it holds: metadata.json, model.weights.h5); a Keras 3 model file comes from model.save('model.keras')`);
  });

  test('an unknown registered class is one line naming the layer, its class and its index', async () => {
    const config = keras3Config();
    const layers = (config.config as { layers: Array<Record<string, unknown>> }).layers;
    layers[7] = { ...layers[7], module: null, class_name: 'SqueezeExcite', registered_name: 'my_blocks>SqueezeExcite' };
    const bad = await writeKeras3Zip(path.join(dir, 'custom.keras'), config, keras3Weights(reference));
    await expect(loadModel(bad)).rejects.toThrow(
      /layer 'global_average_pooling2d' \(index 8, class SqueezeExcite, registered as my_blocks>SqueezeExcite\) is not a layer cnnviz knows/,
    );
  });

  test("MobileNetV3's hard_sigmoid, ReLU(6)(x + 3) * (1/6), loads: keras.ops nodes with a constant become layers", async () => {
    const shape = [null, 4, 4, 2];
    const op = (cls: string, name: string, args: unknown[]) => ({
      module: 'keras.src.ops.numpy',
      class_name: cls,
      config: { name },
      registered_name: cls,
      name,
      inbound_nodes: [{ args, kwargs: {} }],
    });
    const config = {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: {
        name: 'mobilenetv3_se',
        trainable: true,
        layers: [
          k3Input('input_layer', shape, true),
          k3Layer('Conv2D', 'squeeze_excite_conv', { ...convConfig(2, 'linear'), kernel_size: [1, 1] }, kerasTensor('input_layer', shape), shape),
          op('Add', 'add', [kerasTensor('squeeze_excite_conv', shape), 3.0]),
          k3Layer('ReLU', 're_lu', { max_value: 6.0, negative_slope: 0.0, threshold: 0.0 }, kerasTensor('add', shape), shape),
          op('Multiply', 'multiply', [kerasTensor('re_lu', shape), 1 / 6]),
          k3Layer('Multiply', 'squeeze_excite_mul', {}, [kerasTensor('input_layer', shape), kerasTensor('multiply', shape)], [shape, shape]),
          k3Layer('Activation', 'hard_swish', { activation: 'hard_swish' }, kerasTensor('squeeze_excite_mul', shape), shape),
        ],
        input_layers: [['input_layer', 0, 0]],
        output_layers: [['hard_swish', 0, 0]],
      },
      registered_name: 'Functional',
    };
    const kernel = tf.tensor4d([0.5, -1, 2, 0.25], [1, 1, 2, 2]);
    const bias = tf.tensor1d([-0.5, 1]);
    const file = await writeKeras3Zip(path.join(dir, 'mnv3.keras'), config, {
      'layers/conv2d': [
        { shape: [1, 1, 2, 2], values: kernel.dataSync() as Float32Array },
        { shape: [2], values: bias.dataSync() as Float32Array },
      ],
    });
    const loaded = await loadModel(file);
    expect(loaded.graph.layers.map((l) => `${l.name}:${l.className}`)).toEqual([
      'input_layer:InputLayer',
      'squeeze_excite_conv:Conv2D',
      'add:ScalarOp',
      're_lu:ReLU',
      'multiply:ScalarOp',
      'squeeze_excite_mul:Multiply',
      'hard_swish:Activation',
    ]);
    const x = tf.randomUniform([2, 4, 4, 2], -4, 4, 'float32', 12) as tf.Tensor4D;
    const got = loaded.model.predict(x) as tf.Tensor;
    const want = tf.tidy(() => {
      const gate = tf.relu6(tf.conv2d(x, kernel, 1, 'same').add(bias).add(3)).mul(1 / 6);
      const m = x.mul(gate);
      return m.mul(tf.relu6(m.add(3)).div(6));
    });
    expect(tf.tidy(() => got.sub(want).abs().max().dataSync()[0])).toBeLessThan(1e-6);
    tf.dispose([kernel, bias, x, got, want]);
  });

  test('a keras.ops operation cnnviz cannot rebuild is named, with its class and index', async () => {
    const config = keras3Config();
    const layers = (config.config as { layers: Array<Record<string, unknown>> }).layers;
    layers[7] = { ...layers[7], module: 'keras.src.ops.numpy', class_name: 'Sqrt', registered_name: 'Sqrt', inbound_nodes: [{ args: [kerasTensor('add', [null, 8, 8, 4])], kwargs: {} }] };
    const bad = await writeKeras3Zip(path.join(dir, 'op.keras'), config, keras3Weights(reference));
    await expect(loadModel(bad)).rejects.toThrow(/layer 'global_average_pooling2d' \(index 8, class Sqrt\) is a TensorFlow\/Keras operation applied to a tensor/);
  });

  test('a Keras 3 weights-only file (.weights.h5) asks for the full model', async () => {
    const h5 = await h5wasm();
    const weightsFile = path.join(dir, 'model.weights.h5');
    const f = new h5.File(weightsFile, 'w');
    f.create_group('vars');
    f.create_group('layers').create_group('dense').create_group('vars').create_dataset({ name: '0', data: new Float32Array(4), shape: [2, 2] });
    f.close();
    await expect(loadModel(weightsFile)).rejects.toThrow(/holds only weights \(model\.save_weights\), not the architecture/);
  });

  test('the CLI prints the range the Rescaling layer implies, and errors are one line with exit 2', () => {
    const cli = path.join(ROOT, 'bin/cnnviz.js');
    const ok = spawnSync(process.execPath, [cli, 'layers', '-m', file, '--backend', 'cpu'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/input \[null, 8, 8, 3\], range \[0, 255\] \(Rescaling layer\)/);
    expect(ok.stdout).toMatch(/sequential\/conv2d_1\s+Conv2D \*/);
    const bad = spawnSync(process.execPath, [cli, 'layers', '-m', path.join(dir, 'noconfig.keras'), '--backend', 'cpu'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/has no config\.json/);
  });
});

describe('Keras pieces tfjs lacks', () => {
  test('Normalization computes (x - mean) / sqrt(variance), or the inverse', () => {
    const x = tf.tensor4d([11, -17, 34], [1, 1, 1, 3]);
    const fixed = new Normalization({ axis: -1, mean: [10, -20, 30], variance: [4, 9, 16] });
    expect(Array.from((fixed.apply(x) as tf.Tensor).dataSync())).toEqual([0.5, 1, 1]);
    const inverse = new Normalization({ axis: -1, mean: [10, -20, 30], variance: [4, 9, 16], invert: true });
    expect(Array.from((inverse.apply(tf.tensor4d([0.5, 1, 1], [1, 1, 1, 3])) as tf.Tensor).dataSync())).toEqual([11, -17, 34]);
  });

  test("Keras 3's hard_sigmoid and hard_swish are relu6(x + 3) / 6 based", () => {
    const x = tf.tensor1d([-4, 0, 1, 4]);
    const sig = Array.from(new HardSigmoidKeras3().apply(x).dataSync());
    const swish = Array.from(new HardSwish().apply(x).dataSync());
    [0, 0.5, 4 / 6, 1].forEach((v, i) => expect(sig[i]).toBeCloseTo(v, 6));
    [0, 0, 4 / 6, 4].forEach((v, i) => expect(swish[i]).toBeCloseTo(v, 6));
  });

  test('weight slots use Keras snake case of the class name', () => {
    expect(['Conv2D', 'BatchNormalization', 'DepthwiseConv2D', 'GlobalAveragePooling2D', 'ReLU', 'Dense', 'SeparableConv2D'].map(toSnakeCase)).toEqual([
      'conv2d',
      'batch_normalization',
      'depthwise_conv2d',
      'global_average_pooling2d',
      're_lu',
      'dense',
      'separable_conv2d',
    ]);
  });
});
