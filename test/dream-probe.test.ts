import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { createProbe } from '../src/dream/probe.js';
import { channel } from '../src/dream/objectives/units.js';
import { DEFAULTS, dreamBatch, unitPictures, type DreamSettings, type StepListener } from '../src/dream/render.js';
import { modelInput } from '../src/dream/setup.js';
import { DEFAULT_MODEL, fromLayersModel, loadModel, type LoadedModel } from '../src/model/load.js';
import { expectClose } from './gradients-helpers.js';

/** The kernels whose gradients a dream used to replace process-wide. */
const KERNELS = ['Relu', 'Relu6', 'FusedBatchNorm'];
const gradients = () => KERNELS.map((k) => tf.getGradient(k));
/** Layers of the user's model that carry a `call` of their own (a patched method). */
const patched = (m: tf.LayersModel): string[] =>
  m.layers.flatMap((l) => (l instanceof tf.LayersModel ? patched(l) : Object.prototype.hasOwnProperty.call(l, 'call') ? [l.name] : []));

let bundled: LoadedModel;

/** A channel dream of `units` at layer `layer`, one picture per unit (as `--objective channel` renders it). */
function channelDream(loaded: LoadedModel, layer: number, units: number[], settings: DreamSettings, onStep?: StepListener) {
  const objective = channel({ layer }, units);
  return dreamBatch(createProbe(loaded, objective.reads), objective, modelInput(loaded), unitPictures(units), settings, onStep);
}
let registered: tf.GradConfig[];

beforeAll(async () => {
  await initBackend('wasm');
  registered = gradients();
  bundled = await loadModel(DEFAULT_MODEL);
});

/** Records, whenever the network runs it, what the rest of the model and tfjs's gradients look like then. */
class Spy extends tf.layers.Layer {
  static className = 'Spy';
  seen: { patched: string[]; relu: boolean; batchNorm: boolean }[] = [];
  model?: tf.LayersModel;
  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const same = gradients().map((g, i) => g === registered[i]);
    this.seen.push({ patched: this.model ? patched(this.model) : [], relu: same[0] && same[1], batchNorm: same[2] });
    return tf.clone(Array.isArray(inputs) ? inputs[0] : inputs);
  }
}

test("during a dream, no layer of the user's model is patched, and tfjs's ReLU gradients are replaced only for the passes that redirect", () => {
  const input = tf.input({ shape: [16, 16, 3] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, useBias: false }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  const spy = new Spy({ name: 'spy' });
  x = spy.apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  spy.model = model;
  const loaded = fromLayersModel(model, 'spy', { name: 'spy', inputRange: [0, 1], inputRangeSource: 'default', extra: {} });
  // 20 steps: the first 16 redirect, the rest do not.
  channelDream(loaded, loaded.graph.layers.length - 1, [0, 1], { ...DEFAULTS, steps: 20, size: 32, seed: 3 });
  // 20 steps, then the final score: Relu kernels of layers that run as themselves (none here)
  // would redirect in the first 16.
  expect(spy.seen.map((s) => s.relu)).toEqual([...Array(16).fill(false), ...Array(5).fill(true)]);
  expect(spy.seen.filter((s) => s.patched.length || !s.batchNorm)).toEqual([]);
});

test("after a dream on the bundled model, no layer has a call of its own and tfjs's gradients are the ones from before", () => {
  channelDream(bundled, 25, [0, 1], { ...DEFAULTS, steps: 18, size: 48, seed: 1 });
  expect(patched(bundled.model)).toEqual([]);
  expect(gradients()).toEqual(registered);
  gradients().forEach((g, i) => expect(g).toBe(registered[i]));
});

test('the tensor count stays flat over 20 dream steps, across the end of redirection', () => {
  const counts: number[] = [];
  channelDream(bundled, 25, [3], { ...DEFAULTS, steps: 20, size: 48, seed: 2 }, () => counts.push(tf.memory().numTensors));
  // Step 1 creates Adam's moment variables; from then on, every step frees what it makes.
  expect(new Set(counts.slice(1)).size).toBe(1);
});

test('on the bundled (nested) model, the probe equals tfjs running the plain graph, and several reads equal one each', () => {
  const x = tf.randomUniform([2, 224, 224, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
  const layers = [1, 2, 3, 25, 26];
  const reads = [...layers.map((layer) => ({ layer })), { logits: true as const }];
  const probe = createProbe(bundled, reads);
  expect(probe.names.slice(0, 4)).toEqual(['base/conv1', 'base/conv1_bn', 'base/conv1_relu', 'base/conv_pw_4']);
  expect(probe.shapes[3]).toEqual([28, 28, 64]);
  expect(probe.shapes[5]).toEqual([2]);
  const together = probe.apply(x);
  const plain = tf.model({ inputs: bundled.graph.inputs, outputs: layers.map((i) => bundled.graph.layers[i].output) }).apply(x) as tf.Tensor[];
  layers.forEach((l, i) => expectClose(together[i].dataSync(), plain[i].dataSync(), 1e-4, `layer ${l}`));
  // The logits: [-z, z] for the one sigmoid unit, whose sigmoid is the model's P(dog).
  const p = bundled.model.predict(x) as tf.Tensor;
  expectClose(tf.sigmoid(together[5].slice([0, 1], [-1, 1])).dataSync(), p.dataSync(), 1e-5, 'logits');
  expectClose(together[5].slice([0, 0], [-1, 1]).dataSync(), together[5].slice([0, 1], [-1, 1]).neg().dataSync(), 0, '-z');
  reads.forEach((r, i) => {
    const alone = createProbe(bundled, [r]).apply(x)[0];
    expectClose(together[i].dataSync(), alone.dataSync(), 1e-5, `read ${i}`);
    alone.dispose();
  });
  tf.dispose([x, p, ...together, ...plain]);
});

/** probe.apply and its gradient on a 131x131 picture: what `--render-scale native` feeds a 224-px model. */
function atNativeSize(loaded: LoadedModel, layer: number): { shape: number[]; gradient: Float32Array } {
  const probe = createProbe(loaded, [{ layer }]);
  const x = tf.randomUniform([1, 131, 131, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
  const shape = tf.tidy(() => probe.apply(x)[0].shape);
  const gradient = tf.tidy(() => tf.grad((v: tf.Tensor) => probe.apply(v as tf.Tensor4D, { redirect: false })[0].mean())(x).dataSync() as Float32Array);
  x.dispose();
  return { shape, gradient };
}

test('a 131x131 picture runs through the bundled 224-px model to layer 25, with a gradient', () => {
  const { shape, gradient } = atNativeSize(bundled, 25);
  // 131 -> 66 -> 33 -> 17 (three stride-2 convolutions with "same" padding).
  expect(shape).toEqual([1, 17, 17, 64]);
  expect(gradient.some((v) => v !== 0)).toBe(true);
  expect(gradient.every(Number.isFinite)).toBe(true);
});

const MOBILENET = fileURLToPath(new URL('../../shared/data/models/mobilenet-v1-0.25-224/model.json', import.meta.url));
const haveMobileNet = existsSync(MOBILENET);
if (!haveMobileNet) console.warn(`MobileNet probe test skipped: ${MOBILENET} is absent (../shared is not beside the project)`);
(haveMobileNet ? test : test.skip)('a 131x131 picture runs through the shared MobileNet to conv_pw_7_relu, with a gradient', async () => {
  const m = await loadModel(MOBILENET);
  const { shape, gradient } = atNativeSize(m, m.graph.layers.findIndex((l) => l.name === 'conv_pw_7_relu'));
  // 131 / 16, rounded up at each of four stride-2 layers.
  expect(shape).toEqual([1, 9, 9, 128]);
  expect(gradient.some((v) => v !== 0)).toBe(true);
  expect(gradient.every(Number.isFinite)).toBe(true);
});
