// forEachLayerActivation runs a layers model layer by layer, handing each activation over as
// soon as it is computed: its values must be those of the one-pass probe (layerActivations),
// for graphs with branches, shared inputs and nested models, and it must not leak tensors.
import tf = require('@tensorflow/tfjs');
import { initBackend } from '../src/backend/select.js';
import { fromLayersModel, type LoadedModel } from '../src/model/load.js';
import { layerActivations } from '../src/model/probe.js';
import { forEachLayerActivation } from '../src/model/staged-forward.js';
import { type LayerActivation } from '../src/model/probe.js';

const META = { name: 'x', inputRange: [0, 1] as [number, number], inputRangeSource: 'default' as const, extra: {} };

beforeAll(async () => {
  await initBackend('wasm');
});

/** Inception- and ResNet-like in one: a stem, two branches concatenated, an Add shortcut, a classifier. */
function branchyModel(): tf.LayersModel {
  const inp = tf.input({ shape: [12, 12, 3], name: 'img' });
  const stem = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'stem', useBias: false }).apply(inp) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'stem_bn', movingMeanInitializer: 'randomNormal', movingVarianceInitializer: 'ones' }).apply(stem) as tf.SymbolicTensor;
  const act = tf.layers.leakyReLU({ alpha: 0.1, name: 'stem_act' }).apply(bn) as tf.SymbolicTensor;
  const a = tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'branch_a', activation: 'relu' }).apply(act) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', name: 'branch_b' }).apply(act) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate({ name: 'mixed' }).apply([a, b]) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'shortcut' }).apply([cat, act]) as tf.SymbolicTensor;
  const pool = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(sum) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(pool) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(gap) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: out });
}

function nestedModel(): tf.LayersModel {
  const inp = tf.input({ shape: [10, 10, 3], name: 'base_in' });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'c1', activation: 'relu' }).apply(inp) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ filters: 5, kernelSize: 3, name: 'c2' }).apply(c1) as tf.SymbolicTensor;
  const base = tf.model({ inputs: inp, outputs: c2, name: 'base' });
  return tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [10, 10, 3], name: 'img' }), base, tf.layers.globalAveragePooling2d({ name: 'gap' }), tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' })] });
}

async function staged(loaded: LoadedModel, x: tf.Tensor4D, indices: number[], withFinal: boolean) {
  const got: Array<[number, LayerActivation]> = [];
  const final = await forEachLayerActivation(loaded, x, indices, withFinal, (act, j) => {
    got.push([j, act]);
  });
  return { got, final };
}

describe.each([
  ['a graph with branches, Concatenate and Add', branchyModel, [1, 12, 12, 3]],
  ['a functional model nested in a Sequential', nestedModel, [1, 10, 10, 3]],
] as const)('layer by layer on %s', (_, build, shape) => {
  let loaded: LoadedModel;
  let x: tf.Tensor4D;
  beforeAll(() => {
    loaded = fromLayersModel(build(), 'memory', META);
    x = tf.randomNormal([...shape], 0, 1, 'float32', 7) as tf.Tensor4D;
  });

  test('every layer, in any order asked, gets the values of the one-pass probe; the final output is predict', async () => {
    const all = loaded.graph.layers.map((l) => l.index);
    // Reversed, with a duplicate and the input layer: positions must follow the request, not the graph.
    const indices = [...all].reverse().concat([all[1]]);
    const expected = layerActivations(loaded, x, indices);
    const { got, final } = await staged(loaded, x, indices, true);
    expect(got.map(([j]) => j).sort((p, q) => p - q)).toEqual(indices.map((_, j) => j));
    for (const [j, act] of got) {
      const want = expected.layers[j];
      expect([act.index, act.name, act.shape]).toEqual([want.index, want.name, want.shape]);
      expect(act.maps.values.length).toBe(want.maps.values.length);
      let worst = 0;
      for (let i = 0; i < want.maps.values.length; i++) worst = Math.max(worst, Math.abs(act.maps.values[i] - want.maps.values[i]));
      expect(worst).toBeLessThan(1e-6);
    }
    const predicted = loaded.model.predict(x) as tf.Tensor;
    expect(Array.from(final!.dataSync())).toEqual(Array.from(predicted.dataSync()));
    tf.dispose([predicted, final!, expected.final!]);
  });

  test('each activation arrives as soon as its layer is computed, before the later layers run', async () => {
    const last = loaded.graph.layers.length - 1;
    const kernelsRunWhen: number[] = [];
    const profile = await tf.profile(async () => {
      await forEachLayerActivation(loaded, x, [1, last], false, () => {
        kernelsRunWhen.push(tf.engine().state.activeProfile.kernels.length);
      });
    });
    // Layer 1 is one conv (plus its bias add): when it arrives, the rest of the pass is still to run.
    expect(kernelsRunWhen).toHaveLength(2);
    expect(kernelsRunWhen[0]).toBeLessThanOrEqual(2);
    expect(kernelsRunWhen[1]).toBeGreaterThan(kernelsRunWhen[0] + 2);
    expect(kernelsRunWhen[1]).toBeLessThanOrEqual(profile.kernels.length);
  });

  test('no tensor outlives the pass, also when the consumer fails half-way', async () => {
    const before = tf.memory().numTensors;
    const all = loaded.graph.layers.map((l) => l.index);
    const { final } = await staged(loaded, x, all, true);
    final!.dispose();
    expect(tf.memory().numTensors).toBe(before);
    let n = 0;
    await expect(
      forEachLayerActivation(loaded, x, all, true, () => {
        if (++n === 3) throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(tf.memory().numTensors).toBe(before);
    expect(x.isDisposed).toBe(false);
  });
});

test('only the ancestors of the asked layers are run: asking for the stem computes no branch', async () => {
  const loaded = fromLayersModel(branchyModel(), 'memory', META);
  const x = tf.randomNormal([1, 12, 12, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const convs = async (layer: string) => {
    const profile = await tf.profile(() => forEachLayerActivation(loaded, x, [loaded.graph.layers.findIndex((l) => l.name === layer)], false, () => {}));
    return profile.kernels.filter((k) => /Conv2D/.test(k.name)).length;
  };
  expect(await convs('stem_act')).toBe(1);
  expect(await convs('shortcut')).toBe(3);
});
