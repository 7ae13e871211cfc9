import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { activationGradFromOutput, type OutputGradientKind } from '../src/backend/activation-pass.js';
import { initBackend } from '../src/backend/select.js';
import { convActivation, type ChainActivation } from '../src/dream/overrides/conv-activation.js';
import { createProbe } from '../src/dream/probe.js';
import { loadModel, type LoadedModel } from '../src/model/load.js';
import { randomizeWeights } from './helpers/keras-fixtures.js';
import { saveModelTo, tempDir } from './helpers/models.js';
import { expectClose } from './gradients-helpers.js';

/**
 * Fused conv -> (batch norm) -> leaky relu / elu / sigmoid / swish (overrides/conv-activation.ts)
 * against the unfused ops: the one-pass gradient kernel read off the output, the fused
 * convolution, and whole chains as the dream probe runs them.
 */

const data = (t: tf.Tensor) => Array.from(t.dataSync());

/** tfjs's own op for each activation, unfused. */
const UNFUSED: Record<ChainActivation['kind'], (x: tf.Tensor, a: ChainActivation) => tf.Tensor> = {
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  leakyrelu: (x, a) => tf.leakyRelu(x, (a as { alpha: number }).alpha),
  elu: (x) => tf.elu(x),
  sigmoid: (x) => tf.sigmoid(x),
  swish: (x) => tf.mul(tf.sigmoid(x), x),
};

const ACTIVATIONS: ChainActivation[] = [
  { kind: 'leakyrelu', alpha: 0.1 },
  { kind: 'leakyrelu', alpha: 0.3 },
  { kind: 'leakyrelu', alpha: 0 },
  { kind: 'elu' },
  { kind: 'sigmoid' },
  { kind: 'swish' },
];

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(async () => {
  await tf.setBackend('wasm');
});

// Boundary inputs: exactly 0 (leaky relu's and elu's kink), tiny, and |x| large enough that
// sigmoid and elu saturate to their float limits. 23 values: not a multiple of four, so the
// SIMD kernel's scalar tail runs too.
const EDGES = [0, -0, 1e-30, -1e-30, 1e-7, -1e-7, 0.5, -0.5, 1, -1, 3, -3, 17, -17, 30, -30, 88, -88, 104, -104, 1e4, -1e4, 2];

describe.each(['wasm', 'cpu'])('the one-pass gradient from the output on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  test.each(['leakyrelu', 'elu', 'sigmoid'] as OutputGradientKind[])('%s equals tfjs gradient of the unfused op, boundaries included', (kind) => {
    const x = tf.tensor1d(EDGES);
    const dy = tf.tensor1d(EDGES.map((_, i) => ((i * 7) % 5) - 2.5));
    for (const alpha of kind === 'leakyrelu' ? [0.1, 0.3, 0, 2] : [0]) {
      const op = (v: tf.Tensor) => UNFUSED[kind](v, { kind: 'leakyrelu', alpha });
      const want = tf.tidy(() => data(tf.grad(op)(x, dy)));
      const got = tf.tidy(() => data(activationGradFromOutput(dy, op(x), kind, alpha)));
      // Same formula on the same numbers: equal, not just close (elu: within an ulp, above).
      if (kind === 'elu') expectClose(got, want, 1e-6, kind);
      else expect(got).toEqual(want);
    }
    // Exactly 0 in: leaky relu passes alpha dy, as tfjs's where(x > 0, dy, alpha dy) does.
    if (kind === 'leakyrelu') expect(tf.tidy(() => data(activationGradFromOutput(tf.tensor1d([2]), tf.leakyRelu(tf.tensor1d([0]), 0.1), kind, 0.1)))).toEqual([Math.fround(0.2)]);
    tf.dispose([x, dy]);
  });

  test('a large map (SIMD body) equals the unfused gradients', () => {
    const x = tf.randomNormal([2, 9, 7, 13], 0, 4, 'float32', 5);
    const dy = tf.randomNormal([2, 9, 7, 13], 0, 1, 'float32', 6);
    for (const kind of ['leakyrelu', 'elu', 'sigmoid'] as OutputGradientKind[]) {
      const op = (v: tf.Tensor) => UNFUSED[kind](v, { kind: 'leakyrelu', alpha: 0.1 });
      const want = tf.tidy(() => data(tf.grad(op)(x, dy)));
      const got = tf.tidy(() => data(activationGradFromOutput(dy, op(x), kind, 0.1)));
      // elu: tfjs's EluGrad rounds y + 1 on wasm and not on cpu, our SIMD pass does: an ulp apart.
      if (kind === 'elu') expectClose(got, want, 1e-6, kind);
      else expect(got).toEqual(want);
    }
    tf.dispose([x, dy]);
  });
});

describe('convActivation against conv + bias + the unfused activation', () => {
  const cases: Array<{ depthwise: boolean; strides: number; pad: 'same' | 'valid' }> = [
    { depthwise: false, strides: 1, pad: 'same' },
    { depthwise: false, strides: 2, pad: 'same' },
    { depthwise: false, strides: 2, pad: 'valid' },
    { depthwise: true, strides: 1, pad: 'valid' },
    { depthwise: true, strides: 2, pad: 'same' },
  ];
  for (const activation of ACTIVATIONS) {
    const name = activation.kind === 'leakyrelu' ? `leakyrelu(${activation.alpha})` : activation.kind;
    test.each(cases)(`${name}: values and input gradients, %o`, ({ depthwise, strides, pad }) => {
      const channels = 6;
      // Zero pixels in the top-left corner: output channel 0 (bias 0) is exactly 0 wherever its
      // window lies inside them, leaky relu's and elu's kink. Channels 1 and 2 are pushed to
      // +-40 by their bias: sigmoid and elu saturate there.
      const corner = tf.tidy(() => tf.pad(tf.zeros([2, 5, 5, 3]), [[0, 0], [0, 4], [0, 6], [0, 0]], 1));
      const x = tf.tidy(() => tf.mul(tf.randomUniform([2, 9, 11, 3], -1, 1, 'float32', 1), corner)) as tf.Tensor4D;
      const filter = tf.randomNormal(depthwise ? [3, 3, 3, 2] : [3, 3, 3, channels], 0, 0.5, 'float32', 2) as tf.Tensor4D;
      const bias = tf.tensor1d([0, 40, -40, 0.1, -0.2, 0.3]);
      const conv = (v: tf.Tensor4D) => (depthwise ? tf.depthwiseConv2d(v, filter, strides, pad) : tf.conv2d(v, filter, strides, pad));
      const unfused = (v: tf.Tensor) => UNFUSED[activation.kind](tf.add(conv(v as tf.Tensor4D), bias), activation);
      const fused = (v: tf.Tensor) => convActivation({ x: v as tf.Tensor4D, filter, bias, depthwise, strides, pad, dilations: 1, activation });
      const dy = tf.tidy(() => tf.randomNormal(unfused(x).shape, 0, 1, 'float32', 3));
      expectClose(tf.tidy(() => data(fused(x))), tf.tidy(() => data(unfused(x))), 1e-5, `${name} values`);
      expectClose(tf.tidy(() => data(tf.grad(fused)(x, dy))), tf.tidy(() => data(tf.grad(unfused)(x, dy))), 1e-5, `${name} gradients`);
      // Some pre-activations are exactly 0 and some saturate: the boundaries were exercised.
      const z = tf.tidy(() => data(tf.add(conv(x), bias)));
      expect(z.filter((v) => v === 0).length).toBeGreaterThan(0);
      tf.dispose([x, corner, filter, bias, dy]);
    });
  }
});

/** conv -> BN -> LeakyReLU(0.1), conv -> BN -> ELU, conv -> BN -> Activation(sigmoid), conv(swish), conv -> BN -> Activation(swish). */
async function chainModel(): Promise<LoadedModel> {
  const input = tf.input({ shape: [16, 16, 3], name: 'in' });
  let x = input;
  const conv = (name: string, strides: number, padding: 'same' | 'valid', activation?: string) =>
    (x = tf.layers.conv2d({ filters: 5, kernelSize: 3, strides, padding, useBias: false, activation: activation as 'linear', name }).apply(x) as tf.SymbolicTensor);
  const bn = (name: string) => (x = tf.layers.batchNormalization({ name }).apply(x) as tf.SymbolicTensor);
  conv('c1', 1, 'same');
  bn('c1_bn');
  x = tf.layers.leakyReLU({ alpha: 0.1, name: 'c1_leaky' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool' }).apply(x) as tf.SymbolicTensor;
  conv('c2', 2, 'valid');
  bn('c2_bn');
  x = tf.layers.elu({ name: 'c2_elu' }).apply(x) as tf.SymbolicTensor;
  conv('c3', 1, 'same');
  bn('c3_bn');
  x = tf.layers.activation({ activation: 'sigmoid', name: 'c3_sigmoid' }).apply(x) as tf.SymbolicTensor;
  conv('c4', 1, 'same', 'swish');
  conv('c5', 1, 'valid');
  bn('c5_bn');
  x = tf.layers.activation({ activation: 'swish', name: 'c5_swish' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  randomizeWeights(model, 9);
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const w = layer.getWeights();
    layer.setWeights(w.map((t, i) => (i === w.length - 1 ? tf.abs(t).add(0.2) : t)));
  }
  return loadModel(await saveModelTo(model, path.join(tempDir(), 'chains')));
}

test('a probe fuses every chain (no activation kernel runs on its own) and matches tfjs running the plain model', async () => {
  const loaded = await chainModel();
  const index = (name: string) => loaded.graph.layers.findIndex((l) => l.name === name);
  const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  for (const name of ['c1_leaky', 'c2_elu', 'c3_sigmoid', 'c4', 'c5_swish']) {
    const plain = tf.model({ inputs: loaded.graph.inputs, outputs: loaded.graph.layers[index(name)].output });
    const probe = createProbe(loaded, [{ layer: index(name) }]);
    const grad = (f: (v: tf.Tensor4D) => tf.Tensor) => tf.tidy(() => data(tf.grad((v: tf.Tensor) => f(v as tf.Tensor4D).square().mean())(x)));
    expectClose(tf.tidy(() => data(probe.apply(x)[0])), tf.tidy(() => data(plain.apply(x) as tf.Tensor)), 1e-4, name);
    expectClose(grad((v) => probe.apply(v)[0]), grad((v) => plain.apply(v) as tf.Tensor), 1e-4, `${name} gradient`);
    const profile = await tf.profile(() => grad((v) => probe.apply(v)[0]));
    const kernels = new Set(profile.kernels.map((k) => k.name));
    for (const separate of ['LeakyRelu', 'Elu', 'EluGrad', 'FusedBatchNorm', 'Prelu']) expect(kernels.has(separate)).toBe(false);
  }
  // Redirecting changes nothing for activations that are not relu-like.
  const probe = createProbe(loaded, [{ layer: index('c2_elu') }]);
  expect(tf.tidy(() => data(probe.apply(x, { redirect: true })[0]))).toEqual(tf.tidy(() => data(probe.apply(x)[0])));
  x.dispose();
});

test('memory stays flat over many fused steps', async () => {
  const loaded = await chainModel();
  const probe = createProbe(loaded, [{ layer: loaded.graph.layers.length - 1 }]);
  const x = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const step = () => tf.tidy(() => tf.grad((v: tf.Tensor) => probe.apply(v as tf.Tensor4D)[0].mean())(x)).dispose();
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 50; i++) step();
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
});
