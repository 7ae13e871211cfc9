import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { createProbe } from '../src/dream/probe.js';
import { layerTarget } from '../src/dream/target.js';
import { fromLayersModel, loadModel, type LoadedModel } from '../src/model/load.js';
import { randomizeWeights } from './helpers/keras-fixtures.js';
import { writeGraphModel } from './helpers/graph-fixture.js';
import { saveModelTo, tempDir } from './helpers/models.js';
import { expectClose } from './gradients-helpers.js';

/**
 * conv -> BN -> relu6, depthwise -> BN -> relu, and a conv whose output also feeds an Add
 * (so it must not be folded), with random batch-norm statistics.
 */
async function bnModel(dwScale: boolean, weightsFrom?: tf.LayersModel): Promise<{ loaded: LoadedModel; model: tf.LayersModel }> {
  const input = tf.input({ shape: [12, 12, 3], name: 'in' });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'conv' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'conv_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6, name: 'conv_relu' }).apply(x) as tf.SymbolicTensor;
  let y = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'valid', name: 'dw' }).apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: 'dw_bn', scale: dwScale }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.activation({ activation: 'relu', name: 'dw_relu' }).apply(y) as tf.SymbolicTensor;
  const shared = tf.layers.conv2d({ filters: 8, kernelSize: 1, name: 'shared' }).apply(y) as tf.SymbolicTensor;
  const normed = tf.layers.batchNormalization({ name: 'shared_bn' }).apply(shared) as tf.SymbolicTensor;
  const out = tf.layers.add({ name: 'add' }).apply([shared, normed]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  if (weightsFrom) {
    // The same weights; a batch norm without scale drops the other model's gamma (made 1 there).
    for (const layer of model.layers) {
      const w = weightsFrom.getLayer(layer.name).getWeights();
      layer.setWeights(layer.getWeights().length < w.length ? w.slice(1) : w);
    }
  } else {
    randomizeWeights(model, 3);
    // Moving variances must be positive.
    for (const name of ['conv_bn', 'dw_bn', 'shared_bn']) {
      const layer = model.getLayer(name);
      const w = layer.getWeights();
      layer.setWeights(w.map((t, i) => (i === w.length - 1 ? tf.abs(t).add(0.2) : t)));
    }
  }
  const file = await saveModelTo(model, path.join(tempDir(), 'bn'));
  return { loaded: await loadModel(file), model };
}

let loaded: LoadedModel;
let noScale: LoadedModel;
const index = (name: string, m = loaded) => m.graph.layers.findIndex((l) => l.name === name);
/** The same layer output through tfjs's own executor: no override of ours anywhere. */
const plainModel = (m: LoadedModel, names: string[]) => tf.model({ inputs: m.graph.inputs, outputs: names.map((n) => m.graph.layers[index(n, m)].output) });
const data = (t: tf.Tensor) => t.dataSync() as Float32Array;

beforeAll(async () => {
  await initBackend('wasm');
  const scaled = await bnModel(true);
  loaded = scaled.loaded;
  noScale = (await bnModel(false, scaled.model)).loaded;
  // Now make the scaled model's dw_bn gamma 1 too, so both compute the same function.
  const dwBn = loaded.model.getLayer('dw_bn');
  const [, ...rest] = dwBn.getWeights();
  dwBn.setWeights([tf.ones([8]), ...rest]);
});

const READS = ['conv', 'conv_bn', 'conv_relu', 'dw', 'dw_bn', 'dw_relu', 'shared', 'shared_bn', 'add'];

test('fused outputs and input gradients equal tfjs running the plain model, at a conv and a batch norm inside a chain too', () => {
  const x = tf.randomUniform([2, 12, 12, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
  for (const name of READS) {
    const plain = plainModel(loaded, [name]);
    const probe = createProbe(loaded, [{ layer: index(name) }]);
    expectClose(tf.tidy(() => data(probe.apply(x)[0])), tf.tidy(() => data(plain.apply(x) as tf.Tensor)), 1e-4, name);
    const grad = (f: (v: tf.Tensor4D) => tf.Tensor) => tf.tidy(() => data(tf.grad((v: tf.Tensor) => f(v as tf.Tensor4D).square().mean())(x)));
    expectClose(grad((v) => probe.apply(v)[0]), grad((v) => plain.apply(v) as tf.Tensor), 1e-4, `${name} gradient`);
  }
  x.dispose();
});

test('one probe of many reads gives what each read gives alone, in one pass', () => {
  const x = tf.randomUniform([2, 12, 12, 3], -1, 1, 'float32', 11) as tf.Tensor4D;
  const reads = [{ layer: index('dw_relu') }, { layer: index('conv') }, { layer: index('add') }, { layer: index('conv_bn') }, { layer: index('conv') }];
  const probe = createProbe(loaded, reads);
  expect(probe.names).toEqual(['dw_relu', 'conv', 'add', 'conv_bn', 'conv']);
  expect(probe.shapes).toEqual([[4, 4, 8], [6, 6, 4], [4, 4, 8], [6, 6, 4], [6, 6, 4]]);
  const together = probe.apply(x);
  // A read twice is two tensors, each the caller's to dispose.
  expect(together[1]).not.toBe(together[4]);
  reads.forEach((r, i) => {
    const alone = createProbe(loaded, [r]).apply(x)[0];
    expectClose(data(together[i]), data(alone), 1e-5, probe.names[i]);
    alone.dispose();
  });
  // One pass: every tensor of it, outputs aside, is freed on return.
  const before = tf.memory().numTensors;
  tf.dispose(probe.apply(x));
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([x, ...together]);
});

test('chains run as one fused convolution each, and no batch norm runs as FusedBatchNorm', async () => {
  const x = tf.randomUniform([1, 12, 12, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
  const kernelsOf = async (name: string) => {
    const probe = createProbe(loaded, [{ layer: index(name) }]);
    const info = await tf.profile(() => probe.apply(x)[0]);
    // customGrad's scopes aside: the kernels that ran.
    return info.kernels.map((k) => k.name).filter((k) => k !== 'unnamed scope');
  };
  const all = await kernelsOf('add');
  // conv+bn+relu6, dw+bn+relu, and shared (whose raw output also feeds the Add: unfused).
  expect(all.filter((k) => /^Fused(Depthwise)?Conv2D$/.test(k))).toHaveLength(3);
  expect(all.filter((k) => /BatchNorm|^Relu6?$|ClipByValue|Minimum/.test(k))).toEqual([]);
  // Reading the batch norm fuses the conv into it and leaves out the activation.
  const atNorm = await kernelsOf('conv_bn');
  expect(atNorm.filter((k) => /Conv2D/.test(k))).toHaveLength(1);
  expect(atNorm.filter((k) => /ClipByValue|Relu/.test(k))).toEqual([]);
  // Reading the activation of a plain conv -> relu chain needs nothing but the fused kernel.
  const atRelu = await kernelsOf('dw_relu');
  expect(atRelu.filter((k) => !/^Fused(Depthwise)?Conv2D$/.test(k))).toEqual([]);
  x.dispose();
});

test("a batch norm without scale (InceptionV3's) folds and differentiates as gamma = 1 does", () => {
  const x = tf.randomUniform([1, 12, 12, 3], -1, 1, 'float32', 6) as tf.Tensor4D;
  const at = (m: LoadedModel, name: string) => {
    const probe = createProbe(m, [{ layer: index(name, m) }]);
    return tf.tidy(() => data(tf.grad((v: tf.Tensor) => probe.apply(v as tf.Tensor4D)[0].square().mean())(x)));
  };
  // dw_relu folds dw_bn into the conv; dw_bn read alone runs it as its affine map.
  expectClose(at(noScale, 'dw_relu'), at(loaded, 'dw_relu'), 1e-4, 'folded');
  expectClose(at(noScale, 'dw_bn'), at(loaded, 'dw_bn'), 1e-4, 'affine');
  x.dispose();
});

test("new weights are followed, and the cache of folded weights leaves the layer's own alive", async () => {
  const input = tf.input({ shape: [6, 6, 2], name: 'in' });
  const c = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'c' }).apply(input) as tf.SymbolicTensor;
  const n = tf.layers.batchNormalization({ name: 'c_bn' }).apply(c) as tf.SymbolicTensor;
  const r = tf.layers.reLU({ name: 'c_relu' }).apply(n) as tf.SymbolicTensor;
  const out = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(r) as tf.SymbolicTensor;
  const m = await loadModel(await saveModelTo(tf.model({ inputs: input, outputs: out }), path.join(tempDir(), 'plain')));
  const probe = createProbe(m, [{ layer: index('gap', m) }]);
  const plain = plainModel(m, ['gap']);
  const x = tf.randomUniform([1, 6, 6, 2], -1, 1, 'float32', 9) as tf.Tensor4D;
  const both = () => [() => probe.apply(x)[0], () => plain.apply(x) as tf.Tensor].map((f) => tf.tidy(() => data(f())));
  let [fused, ref] = both();
  expectClose(fused, ref, 1e-5, 'first weights');
  // New weights, as training or loading would set: the same probe must follow them.
  for (const name of ['c', 'c_bn']) {
    const layer = m.model.getLayer(name);
    layer.setWeights(layer.getWeights().map((w, i) => (name === 'c_bn' && i === 3 ? tf.add(w, 1) : tf.mul(w, -2))));
  }
  [fused, ref] = both();
  expectClose(fused, ref, 1e-5, 'second weights');
  expect(m.model.layers.flatMap((l) => l.getWeights()).every((w) => !w.isDisposed)).toBe(true);
  x.dispose();
});

describe('redirection is an option of one pass', () => {
  /** A pass's input gradient of the mean of `name`'s output, with redirection on or off. */
  const gradient = (m: LoadedModel, name: string, x: tf.Tensor4D, redirect: boolean, sign = 1) => {
    const probe = createProbe(m, [{ layer: index(name, m) }]);
    return tf.tidy(() => data(tf.grad((v: tf.Tensor) => probe.apply(v as tf.Tensor4D, { redirect })[0].mean().mul(sign))(x)));
  };

  test('a fused relu6 redirects a dead example and leaves a live one exact', () => {
    // Example 1 is pushed far negative through a kernel of one sign: every relu6 unit of it is
    // past a bound (dead at 0 or saturated at 6), so its ordinary gradient is all zero.
    const x = tf.tidy(() => tf.concat([tf.randomUniform([1, 12, 12, 3], -1, 1, 'float32', 8), tf.fill([1, 12, 12, 3], -1000)])) as tf.Tensor4D;
    const conv = loaded.model.getLayer('conv');
    const kernel = conv.getWeights()[0].clone();
    conv.setWeights([tf.abs(kernel).add(0.05)]);
    const per = 12 * 12 * 3;
    try {
      const y1 = tf.tidy(() => data(layerTarget(loaded, index('conv_relu')).apply(x).slice([1], [1])));
      expect(y1.filter((v) => v > 0 && v < 6).length).toBe(0);
      const plain = gradient(loaded, 'conv_relu', x, false);
      const redirected = gradient(loaded, 'conv_relu', x, true);
      expectClose(redirected.subarray(0, per), plain.subarray(0, per), 1e-4, 'live example');
      expect(plain.subarray(per).every((v) => v === 0)).toBe(true);
      expect(redirected.subarray(per).some((v) => v !== 0)).toBe(true);
      // The option belongs to that pass alone: the next one without it is exact again.
      expect(gradient(loaded, 'conv_relu', x, false)).toEqual(plain);
    } finally {
      conv.setWeights([kernel]);
      kernel.dispose();
    }
    x.dispose();
  });

  /** in -> Dense(relu), Conv2D(relu), SeparableConv2D(relu), or a conv and a ReLU or Activation(relu6) layer, biased so every unit is dead for an all-zero picture. */
  function deadModel(kind: 'relu-layer' | 'relu6-activation' | 'dense-relu' | 'conv-relu' | 'separable-relu'): LoadedModel {
    const input = tf.input({ shape: [6, 6, 1] });
    let y: tf.SymbolicTensor;
    if (kind === 'dense-relu') {
      const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
      y = tf.layers.dense({ units: 3, activation: 'relu', name: 'unit', biasInitializer: tf.initializers.constant({ value: -5 }) }).apply(flat) as tf.SymbolicTensor;
    } else if (kind === 'conv-relu') {
      // Fused with its own activation: the clamp's gradient redirects inside the fused kernel's.
      y = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'unit', biasInitializer: tf.initializers.constant({ value: -5 }) }).apply(input) as tf.SymbolicTensor;
    } else if (kind === 'separable-relu') {
      // No override for this one: it runs as itself, its Relu kernel redirected for the pass.
      y = tf.layers.separableConv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'unit', biasInitializer: tf.initializers.constant({ value: -5 }) }).apply(input) as tf.SymbolicTensor;
    } else {
      // A conv whose output is also read by the Add: the activation cannot be fused into it.
      const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', name: 'pre', biasInitializer: tf.initializers.constant({ value: -5 }) }).apply(input) as tf.SymbolicTensor;
      const act = (kind === 'relu-layer' ? tf.layers.reLU({ name: 'unit' }) : tf.layers.activation({ activation: 'relu6', name: 'unit' })).apply(conv) as tf.SymbolicTensor;
      y = tf.layers.add().apply([act, conv]) as tf.SymbolicTensor;
    }
    return fromLayersModel(tf.model({ inputs: input, outputs: y }), kind, { name: kind, inputRange: [0, 1], inputRangeSource: 'default', extra: {} });
  }

  test.each(['relu-layer', 'relu6-activation', 'dense-relu', 'conv-relu', 'separable-relu'] as const)('%s: a dead example gets gradient uphill only with redirection on', (kind) => {
    const m = deadModel(kind);
    const x = tf.zeros([1, 6, 6, 1]) as tf.Tensor4D;
    const off = gradient(m, 'unit', x, false, -1);
    const on = gradient(m, 'unit', x, true, -1);
    expect(off.every((v) => v === 0)).toBe(true);
    expect(on.some((v) => v !== 0)).toBe(true);
    // Downhill it stays blocked: a dead unit is not pushed further below zero.
    expect(gradient(m, 'unit', x, true, 1).every((v) => v === 0)).toBe(true);
    x.dispose();
  });

  test("a graph model's Relu redirects for its own pass only, and tfjs's gradient is put back", async () => {
    const file = writeGraphModel(path.join(tempDir('cnnviz-overrides-graph-'), 'g'), { head: 'none' });
    const m = await loadModel(file);
    const relu = index('edges/Relu', m);
    const probe = createProbe(m, [{ layer: relu }]);
    // Channel 1 has bias -0.5 and sums to 0 over a flat picture: dead everywhere at grey 0.
    const x = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
    const channel1 = (redirect: boolean) => tf.tidy(() => data(tf.grad((v: tf.Tensor) => probe.apply(v as tf.Tensor4D, { redirect })[0].slice([0, 0, 0, 1], [-1, -1, -1, 1]).mean().neg())(x)));
    const before = ['Relu', 'Relu6', 'FusedBatchNorm'].map((k) => tf.getGradient(k));
    expect(channel1(false).every((v) => v === 0)).toBe(true);
    expect(channel1(true).some((v) => v !== 0)).toBe(true);
    expect(['Relu', 'Relu6', 'FusedBatchNorm'].map((k) => tf.getGradient(k))).toEqual(before);
    expect(tf.getGradient('Relu')).toBe(before[0]);
    // And an ordinary relu elsewhere, after the pass, has its true gradient.
    expect(Array.from(tf.tidy(() => tf.grad((t: tf.Tensor) => tf.relu(t).sum().neg())(tf.tensor2d([[-1, -2]])).dataSync()))).toEqual([-0, -0]);
    x.dispose();
  });
});
