import { writeFileSync, readFileSync, truncateSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { loadModel, fromLayersModel } from '../src/model/load.js';
import { resolveLayers, resolveLayer, resolveIndexList } from '../src/model/address.js';
import { probeActivations, layerActivations, rasterToTensor, topPredictions } from '../src/model/probe.js';
import { UsageError, RuntimeError } from '../src/errors.js';
import { edgeModel, saveModelTo, tempDir } from './helpers/models.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const names = ['input', 'conv1', 'conv1_bn', 'conv1_relu', 'conv2', 'pool', 'dense'].map((name) => ({ name }));

describe('layer addressing', () => {
  test('indices, negatives, names, ranges, lists and all', () => {
    expect(resolveLayers('2', names)).toEqual([2]);
    expect(resolveLayers('-1', names)).toEqual([6]);
    expect(resolveLayers('conv2', names)).toEqual([4]);
    expect(resolveLayers('1-3', names)).toEqual([1, 2, 3]);
    expect(resolveLayers('1,conv2,1', names)).toEqual([1, 4]);
    expect(resolveLayers('all', names)).toHaveLength(7);
  });

  test('an out-of-range index names the valid range', () => {
    expect(() => resolveLayers('99', names)).toThrow('layer 99 out of range: model has 7 layers (0-6, or -1 for the last)');
    expect(() => resolveLayers('-8', names)).toThrow(/layer -8 out of range/);
    expect(() => resolveLayers('2-9', names)).toThrow(/layer 9 out of range/);
  });

  test('an unknown name suggests the closest ones', () => {
    const err = (() => {
      try {
        resolveLayers('conv_2', names);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message).toMatch(/unknown layer 'conv_2': did you mean conv2/);
  });

  test('single-layer commands refuse lists', () => {
    expect(() => resolveLayer('1,2', names)).toThrow(/names 2 layers/);
  });

  test('channel lists check against the channel count', () => {
    expect(resolveIndexList('0-2,5', 8, 'channel', 'layer x')).toEqual([0, 1, 2, 5]);
    expect(() => resolveIndexList('9', 8, 'filter', 'layer conv2')).toThrow('filter 9 out of range: layer conv2 has 8 channels (0-7)');
  });
});

describe('loading from disk', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = tempDir();
    file = await saveModelTo(edgeModel(), path.join(dir, 'edge'), { labels: ['left', 'right'], inputRange: [0, 1], name: 'edge-demo' });
  });

  test('a folder or its model.json loads, with the sidecar read', async () => {
    const byDir = await loadModel(path.dirname(file));
    const byFile = await loadModel(file);
    expect(byDir.graph.layers.map((l) => l.name)).toEqual(['edges', 'pool', 'flat', 'head']);
    expect(byFile.meta).toMatchObject({ name: 'edge-demo', labels: ['left', 'right'], inputRange: [0, 1], inputRangeSource: 'cnnviz.json' });
    expect(byFile.inputShape).toEqual([16, 16, 1]);
    expect(byFile.graph.layers[0]).toMatchObject({ className: 'Conv2D', isConv: true, params: 20, activation: 'relu', outputShape: [null, 16, 16, 2] });
  });

  test('the older modelTopology.model_config style loads too', async () => {
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const old = path.join(dir, 'edge', 'old.json');
    writeFileSync(old, JSON.stringify({ modelTopology: { keras_version: '2.1.4', backend: 'tensorflow', model_config: json.modelTopology }, weightsManifest: json.weightsManifest }));
    const loaded = await loadModel(old);
    expect(loaded.graph.layers).toHaveLength(4);
  });

  test('--input-range overrides the sidecar', async () => {
    const loaded = await loadModel(file, { inputRange: [-1, 1] });
    expect(loaded.meta).toMatchObject({ inputRange: [-1, 1], inputRangeSource: 'flag' });
  });

  const expectError = async (p: string, kind: typeof UsageError | typeof RuntimeError, message: RegExp) => {
    const err = await loadModel(p).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(kind);
    expect(err!.message).toMatch(message);
    expect(err!.message).not.toContain('\n');
  };

  test('each way a model file can be wrong is a one-line error naming the path', async () => {
    const bad = tempDir();
    await expectError(path.join(bad, 'nope.json'), UsageError, /model not found: .*nope\.json/);
    writeFileSync(path.join(bad, 'text.json'), 'hello');
    await expectError(path.join(bad, 'text.json'), UsageError, /not JSON: .*text\.json/);
    writeFileSync(path.join(bad, 'other.json'), '{"hello": "world"}');
    await expectError(path.join(bad, 'other.json'), UsageError, /not a TF\.js layers model.*other\.json|other\.json.*not a TF\.js layers model/);
    await expectError(bad, UsageError, /no model\.json in folder/);
  });

  test('a missing shard and a short shard are named', async () => {
    const copy = path.join(tempDir(), 'm');
    const f = await saveModelTo(edgeModel(), copy);
    unlinkSync(path.join(copy, 'weights.bin'));
    await expectError(f, UsageError, /weight shard missing: .*weights\.bin/);
    const model = edgeModel();
    const f2 = await saveModelTo(model, copy);
    truncateSync(path.join(copy, 'weights.bin'), 10);
    const want = 4 * model.countParams();
    await expectError(f2, UsageError, new RegExp(`shard size mismatch: .*weights\\.bin holds 10 bytes, the manifest .* needs ${want}`));
  });
});

describe('probing activations', () => {
  test('many layers come from one forward pass and match the model', () => {
    const loaded = fromLayersModel(edgeModel(), 'memory', { name: 'edge', inputRange: [0, 1], inputRangeSource: 'default', extra: {} });
    const x = tf.randomUniform([1, 16, 16, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const calls: string[] = [];
    const spy = loaded.graph.layers.map((l) => l.layer).forEach((layer) => {
      const call = layer.call.bind(layer);
      layer.call = (inputs, kwargs) => {
        calls.push(layer.name);
        return call(inputs, kwargs);
      };
    });
    void spy;
    const { activations, final } = probeActivations(loaded, x, [0, 1, 3], true);
    expect(calls.sort()).toEqual(['edges', 'flat', 'head', 'pool']);
    expect(activations.map((t) => t.shape)).toEqual([[1, 16, 16, 2], [1, 8, 8, 2], [1, 2]]);
    const direct = loaded.model.predict(x) as tf.Tensor;
    expect(Array.from(final!.dataSync())).toEqual(Array.from(direct.dataSync()));
    expect(Array.from(activations[2].dataSync())).toEqual(Array.from(direct.dataSync()));
    tf.dispose([...activations, final!, direct]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  test('input range scaling maps 0..255 onto the range', () => {
    const t = rasterToTensor({ data: new Uint8Array([0, 255]), width: 2, height: 1, channels: 1 }, [-1, 1]);
    expect(Array.from(t.dataSync())).toEqual([-1, 1]);
  });

  test('top predictions: probabilities pass through, logits get softmax, one sigmoid unit is binary', () => {
    expect(topPredictions(tf.tensor1d([0.1, 0.7, 0.2]), ['a', 'b', 'c'], 2).map((p) => p.label)).toEqual(['b', 'c']);
    const fromLogits = topPredictions(tf.tensor1d([0, Math.log(3)]), ['a', 'b']);
    expect(fromLogits[0].label).toBe('b');
    expect(fromLogits[0].probability).toBeCloseTo(0.75, 5);
    const binary = topPredictions(tf.tensor1d([0.9]), ['cat', 'dog']);
    expect(binary[0]).toMatchObject({ label: 'dog' });
    expect(binary[0].probability).toBeCloseTo(0.9, 6);
  });
});

describe('nested models', () => {
  test('a functional base model inside a Sequential is flattened with outer/inner names', () => {
    const inp = tf.input({ shape: [8, 8, 3], name: 'base_in' });
    const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'c1' }).apply(inp) as tf.SymbolicTensor;
    const c2 = tf.layers.conv2d({ filters: 5, kernelSize: 3, name: 'c2' }).apply(c1) as tf.SymbolicTensor;
    const base = tf.model({ inputs: inp, outputs: c2, name: 'base' });
    const outer = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [8, 8, 3], name: 'img' }), base, tf.layers.globalAveragePooling2d({ name: 'gap' }), tf.layers.dense({ units: 1, name: 'out' })] });
    const loaded = fromLayersModel(outer, 'memory', { name: 'x', inputRange: [0, 1], inputRangeSource: 'default', extra: {} });
    const names = loaded.graph.layers.map((l) => l.name);
    // The explicit InputLayer counts, as it does in tfjs's own model.layers.
    expect(names).toEqual(['img', 'base/c1', 'base/c2', 'gap', 'out']);
    expect(resolveLayer('c2', loaded.graph.layers)).toBe(2);

    const x = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const { layers } = layerActivations(loaded, x, [1, 2, 4]);
    expect(layers.map((l) => l.shape)).toEqual([[6, 6, 4], [4, 4, 5], [1]]);
    const expectInner = base.predict(x) as tf.Tensor;
    expect(Array.from(layers[1].maps.values)).toEqual(Array.from(expectInner.dataSync()));
    const expectOut = outer.predict(x) as tf.Tensor;
    expect(layers[2].maps.values[0]).toBeCloseTo(expectOut.dataSync()[0], 5);
  });
});
