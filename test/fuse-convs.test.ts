import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { withFusedConvolutions } from '../src/dream/fuse-convs.js';
import { setReluRedirect } from '../src/dream/relu-redirect.js';
import { layerActivationFn } from '../src/model/layer-fn.js';
import { loadModel, type LoadedModel } from '../src/model/load.js';
import { randomizeWeights } from './helpers/keras-fixtures.js';
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
const index = (name: string) => loaded.graph.layers.findIndex((l) => l.name === name);
const own = (name: string) => Object.prototype.hasOwnProperty.call(loaded.model.getLayer(name), 'call');

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

test('folded outputs and input gradients equal the unfolded ones', () => {
  const x = tf.randomUniform([2, 12, 12, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
  for (const name of ['conv_relu', 'dw_bn', 'dw_relu', 'add']) {
    const fn = layerActivationFn(loaded, index(name));
    const plain = tf.tidy(() => fn(x).dataSync() as Float32Array);
    const folded = tf.tidy(() => withFusedConvolutions(loaded, index(name), () => fn(x)).dataSync() as Float32Array);
    expectClose(folded, plain, 1e-5, name);
    const grad = (fold: boolean) =>
      tf.tidy(() => tf.grad((v: tf.Tensor) => (fold ? withFusedConvolutions(loaded, index(name), () => fn(v as tf.Tensor4D)) : fn(v as tf.Tensor4D)).square().mean())(x).dataSync() as Float32Array);
    expectClose(grad(true), grad(false), 1e-4, `${name} gradient`);
  }
  x.dispose();
});

test('with ReLU redirection on, a fused relu6 redirects a dead example and leaves a live one exact', () => {
  // Example 1 is pushed far negative through a kernel of one sign: every relu6 unit of it is
  // past a bound (dead at 0 or saturated at 6), so its ordinary gradient is all zero.
  const x = tf.tidy(() => tf.concat([tf.randomUniform([1, 12, 12, 3], -1, 1, 'float32', 8), tf.fill([1, 12, 12, 3], -1000)])) as tf.Tensor4D;
  const i = index('conv_relu');
  const fn = layerActivationFn(loaded, i);
  const conv = loaded.model.getLayer('conv');
  const kernel = conv.getWeights()[0].clone();
  conv.setWeights([tf.abs(kernel).add(0.05)]);
  const grad = (fold: boolean) =>
    tf.tidy(() => tf.grad((v: tf.Tensor) => (fold ? withFusedConvolutions(loaded, i, () => fn(v as tf.Tensor4D)) : fn(v as tf.Tensor4D)).mean())(x).dataSync() as Float32Array);
  const per = 12 * 12 * 3;
  try {
    const y1 = tf.tidy(() => fn(x).slice([1], [1]).dataSync() as Float32Array);
    expect(y1.filter((v) => v > 0 && v < 6).length).toBe(0);
    const plain = grad(false);
    setReluRedirect(true);
    const redirected = grad(true);
    expectClose(redirected.subarray(0, per), plain.subarray(0, per), 1e-4, 'live example');
    expect(plain.subarray(per).every((v) => v === 0)).toBe(true);
    expect(redirected.subarray(per).some((v) => v !== 0)).toBe(true);
  } finally {
    setReluRedirect(false);
    conv.setWeights([kernel]);
    kernel.dispose();
  }
  x.dispose();
});

test("a batch norm without scale (InceptionV3's) folds and differentiates as gamma = 1 does", () => {
  const x = tf.randomUniform([1, 12, 12, 3], -1, 1, 'float32', 6) as tf.Tensor4D;
  const at = (m: LoadedModel, fold: boolean) => {
    const i = m.graph.layers.findIndex((l) => l.name === 'dw_relu');
    const fn = layerActivationFn(m, i);
    const f = (v: tf.Tensor) => (fold ? withFusedConvolutions(m, i, () => fn(v as tf.Tensor4D)) : fn(v as tf.Tensor4D)).square().mean();
    return tf.tidy(() => tf.grad(f)(x).dataSync() as Float32Array);
  };
  expectClose(at(noScale, true), at(loaded, false), 1e-4, 'no-scale folded vs gamma=1 unfolded');
  x.dispose();
});

test('what is folded, and what is left alone', () => {
  const seen: Record<string, boolean> = {};
  withFusedConvolutions(loaded, index('add'), () => {
    for (const name of ['conv', 'conv_bn', 'dw', 'dw_bn', 'shared', 'shared_bn']) seen[name] = own(name);
  });
  // conv and dw feed only their batch norm; shared also feeds the Add, so its raw output must stay.
  expect(seen).toEqual({ conv: true, conv_bn: true, dw: true, dw_bn: true, shared: false, shared_bn: false });
  // Reading the convolution itself keeps it unfolded: its output is the one asked for.
  withFusedConvolutions(loaded, index('conv'), () => {
    seen.convWhenRead = own('conv');
  });
  expect(seen.convWhenRead).toBe(false);
  // Afterwards every layer is its class's own again.
  expect(['conv', 'conv_bn', 'dw', 'dw_bn'].filter(own)).toEqual([]);
});

test('a raw convolution read while folding elsewhere is the plain convolution', () => {
  const x = tf.randomUniform([1, 12, 12, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
  const fn = layerActivationFn(loaded, index('conv'));
  const kernel = loaded.model.getLayer('conv').getWeights()[0] as tf.Tensor4D;
  const direct = tf.tidy(() => tf.conv2d(x, kernel, 2, 'same').dataSync() as Float32Array);
  expectClose(tf.tidy(() => withFusedConvolutions(loaded, index('conv'), () => fn(x)).dataSync() as Float32Array), direct, 1e-5);
  x.dispose();
});

test('a conv -> relu chain without a batch norm fuses with the layer\'s own weights, and new weights leave them alive', async () => {
  const input = tf.input({ shape: [6, 6, 2], name: 'in' });
  const c = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'c' }).apply(input) as tf.SymbolicTensor;
  const r = tf.layers.reLU({ name: 'c_relu' }).apply(c) as tf.SymbolicTensor;
  const out = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(r) as tf.SymbolicTensor;
  const m = await loadModel(await saveModelTo(tf.model({ inputs: input, outputs: out }), path.join(tempDir(), 'plain')));
  const i = m.graph.layers.findIndex((l) => l.name === 'gap');
  const fn = layerActivationFn(m, i);
  const x = tf.randomUniform([1, 6, 6, 2], -1, 1, 'float32', 9) as tf.Tensor4D;
  const both = () => [() => fn(x), () => withFusedConvolutions(m, i, () => fn(x))].map((f) => tf.tidy(() => f().dataSync() as Float32Array));
  let [plain, fused] = both();
  expectClose(fused, plain, 1e-5, 'first weights');
  // New weights, as training or loading would set: the fused call must follow them, and
  // must not have disposed the layer's weights along with its cache.
  const layer = m.model.getLayer('c');
  layer.setWeights(layer.getWeights().map((w) => tf.mul(w, -2)));
  [plain, fused] = both();
  expectClose(fused, plain, 1e-5, 'second weights');
  withFusedConvolutions(m, i, () => fn(x)).dispose();
  expect(layer.getWeights().every((w) => !w.isDisposed)).toBe(true);
  x.dispose();
});
