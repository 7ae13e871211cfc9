import tf = require('@tensorflow/tfjs');
import { initBackend } from '../src/backend/select.js';
import { readBack } from '../src/backend/read-back.js';

beforeAll(async () => {
  await initBackend('wasm');
});

test('readBack returns the values of the computed tensor and leaves no tensor behind', () => {
  const x = tf.tensor2d([
    [1, -2],
    [3, -4],
  ]);
  const before = tf.memory().numTensors;
  const values = readBack(() => x.abs().mul(2).sum(1));
  expect(Array.from(values)).toEqual([6, 14]);
  expect(tf.memory().numTensors).toBe(before);
  const ints = readBack(() => x.mul(255).clipByValue(0, 255).cast('int32'));
  expect(ints).toBeInstanceOf(Int32Array);
  expect(Array.from(ints)).toEqual([255, 0, 255, 0]);
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
});
