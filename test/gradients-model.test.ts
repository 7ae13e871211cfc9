import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { inputGradientsOnly } from '../src/backend/gradients.js';
import { mulberry32, randomArray, expectClose, loadLayersModelFromDir } from './gradients-helpers.js';

beforeAll(async () => {
  expect(await initBackend('wasm')).toBe('wasm');
});

describe('gradients of whole models on wasm', () => {
  test('finite differences agree with tf.grad on a small conv net', () => {
    // tanh rather than relu: finite differences need a function without kinks.
    const init = (seed: number) => tf.initializers.glorotNormal({ seed });
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [11, 10, 2], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh', kernelInitializer: init(1) }));
    m.add(tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'valid', activation: 'tanh', depthwiseInitializer: init(2) }));
    m.add(tf.layers.conv2d({ filters: 3, kernelSize: 2, dilationRate: 1, padding: 'same', kernelInitializer: init(3) }));
    m.add(tf.layers.globalAveragePooling2d({}));
    const rand = mulberry32(21);
    const x = tf.tensor4d(randomArray(rand, 11 * 10 * 2), [1, 11, 10, 2]);
    const f = (input: tf.Tensor) => tf.sum(tf.mul(m.apply(input) as tf.Tensor, tf.tensor1d([1, -2, 0.5])));
    const g = tf.grad(f)(x);
    for (let trial = 0; trial < 3; trial++) {
      const d = tf.tensor4d(randomArray(rand, 11 * 10 * 2), [1, 11, 10, 2]);
      const eps = 1e-2;
      const at = (s: number) => tf.tidy(() => f(tf.add(x, tf.mul(d, s * eps))).dataSync()[0]);
      const numeric = (at(1) - at(-1)) / (2 * eps);
      const analytic = tf.tidy(() => tf.sum(tf.mul(g, d)).dataSync()[0]);
      expect(Math.abs(numeric - analytic)).toBeLessThan(2e-3 * Math.max(1, Math.abs(analytic)));
      d.dispose();
    }
    tf.dispose([x, g]);
    m.dispose();
  });

  test('the tensor count after 1,000 gradient-ascent steps equals the count after 10', () => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
    m.add(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }));
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.reLU({ maxValue: 6 }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }));
    const grad = tf.grad((input: tf.Tensor) => tf.mean(tf.slice(m.apply(input) as tf.Tensor4D, [0, 0, 0, 2], [-1, -1, -1, 1])));
    let x = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 3);
    const step = () => {
      const next = tf.tidy(() => tf.add(x, tf.mul(grad(x), 0.05)));
      x.dispose();
      x = next;
    };
    for (let i = 0; i < 10; i++) step();
    const after10 = tf.memory();
    for (let i = 10; i < 1000; i++) step();
    const after1000 = tf.memory();
    expect(after1000.numTensors).toBe(after10.numTensors);
    expect(after1000.numBytes).toBe(after10.numBytes);
    x.dispose();
    m.dispose();
  });
});

describe('inputGradientsOnly', () => {
  test('gives the same input gradient without computing filter gradients', () => {
    const init = (seed: number) => tf.initializers.glorotNormal({ seed });
    const m = tf.sequential();
    // No activation: tfjs takes the fused path, whose gradient computes the filter's too.
    m.add(tf.layers.conv2d({ inputShape: [9, 9, 3], filters: 4, kernelSize: 3, strides: 2, kernelInitializer: init(1) }));
    m.add(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: init(2) }));
    const x = tf.randomUniform([1, 9, 9, 3], 0, 1, 'float32', 4);
    const kernel = m.layers[0].getWeights()[0];
    const f = (input: tf.Tensor, k: tf.Tensor) => {
      void k;
      return tf.sum(tf.square(m.apply(input) as tf.Tensor));
    };
    const [dx, dk] = tf.grads(f)([x, kernel]);
    const [dxOnly, dkOnly] = inputGradientsOnly(() => tf.grads(f)([x, kernel]));
    expect(Array.from(dxOnly.dataSync())).toEqual(Array.from(dx.dataSync()));
    // The promise was broken on purpose here: the kernel's gradient comes back as zeros.
    expect(tf.tidy(() => tf.sum(tf.abs(dk)).dataSync()[0])).toBeGreaterThan(0);
    expect(tf.tidy(() => tf.sum(tf.abs(dkOnly)).dataSync()[0])).toBe(0);
    tf.dispose([x, dx, dk, dxOnly, dkOnly]);
    m.dispose();
  });
});

const MOBILENET = fileURLToPath(new URL('../../shared/data/models/mobilenet-v1-0.25-224', import.meta.url));
const haveMobileNet = existsSync(`${MOBILENET}/model.json`);
if (!haveMobileNet) console.warn(`MobileNet gradient test skipped: ${MOBILENET} is absent (../shared is not beside the project)`);
(haveMobileNet ? describe : describe.skip)('real MobileNet v1 0.25', () => {
  async function channelGradient(backend: string, size: number): Promise<Float32Array> {
    await initBackend(backend);
    const model = await loadLayersModelFromDir(MOBILENET);
    const probe = tf.model({ inputs: model.inputs, outputs: model.getLayer('conv_pw_6_relu').output as tf.SymbolicTensor });
    const x = tf.tensor4d(randomArray(mulberry32(5), size * size * 3), [1, size, size, 3]);
    const g = tf.grad((input: tf.Tensor) => tf.mean(tf.slice(probe.apply(input) as tf.Tensor4D, [0, 0, 0, 3], [-1, -1, -1, 1])))(x);
    const data = g.dataSync() as Float32Array;
    tf.dispose([x, g]);
    model.dispose();
    return data;
  }

  test('a channel gradient runs on wasm (depthwise backprop) and matches cpu', async () => {
    const native = await channelGradient('wasm', 224);
    expect(native.some((v) => v !== 0)).toBe(true);
    expect(native.every(Number.isFinite)).toBe(true);
    // The comparison at 96 px: the trunk is fully convolutional, and cpu's reference loops
    // would take half a minute at 224.
    const wasm = await channelGradient('wasm', 96);
    const cpu = await channelGradient('cpu', 96);
    expectClose(wasm, cpu, 1e-3, 'MobileNet input gradient');
    await tf.setBackend('wasm');
  });
});
