import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { mulberry32, randomArray, expectClose } from './gradients-helpers.js';

/**
 * Training a small classifier of the shape other commands train (Conv2D + BatchNorm +
 * ReLU + MaxPool + GlobalAvgPool + Dense, Adam) must work on wasm, and land on the same
 * weights as cpu does.
 */
function classifier(optimizer: tf.Optimizer): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: init(1) }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.reLU());
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, kernelInitializer: init(2) }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.activation({ activation: 'relu' }));
  m.add(tf.layers.globalAveragePooling2d({}));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3) }));
  m.compile({ optimizer, loss: 'categoricalCrossentropy' });
  return m;
}

async function trainOn(backend: string, optimizer: () => tf.Optimizer): Promise<{ loss: number[]; weights: Float32Array[] }> {
  expect(await initBackend(backend)).toBe(backend);
  const rand = mulberry32(11);
  const model = classifier(optimizer());
  const x = tf.tensor4d(randomArray(rand, 16 * 12 * 12 * 3), [16, 12, 12, 3]);
  const labels = Array.from({ length: 16 }, (_, i) => i % 3);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
  const history = await model.fit(x, y, { epochs: 2, batchSize: 4, shuffle: false, verbose: 0 });
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  tf.dispose([x, y]);
  model.dispose();
  return { loss: history.history.loss as number[], weights };
}

test('model.fit with Adam runs on wasm', async () => {
  const wasm = await trainOn('wasm', () => tf.train.adam(1e-2));
  expect(wasm.loss.every(Number.isFinite)).toBe(true);
  expect(wasm.loss[1]).toBeLessThan(wasm.loss[0]);
});

// Plain SGD for the comparison: the bias in front of a BatchNorm has a gradient that is zero
// up to rounding, which Adam would blow up to full-size steps in arbitrary directions.
test('model.fit on wasm lands on the weights cpu does', async () => {
  const wasm = await trainOn('wasm', () => tf.train.sgd(0.1));
  const cpu = await trainOn('cpu', () => tf.train.sgd(0.1));
  expectClose(wasm.loss, cpu.loss, 1e-3, 'loss');
  // Weights that stay near zero (that bias) are compared on the scale of a typical weight.
  wasm.weights.forEach((w, i) => expectClose(w, cpu.weights[i], 1e-3, `weight ${i}`, 0.1));
  await tf.setBackend('wasm');
});
