import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { mixPlanes } from '../src/backend/colour-mix.js';
import { decorrelationMatrix } from '../src/dream/color.js';
import { mulberry32 } from './gradients-helpers.js';

/**
 * The spectral image's planes-to-pixels step (transpose, ÷4, colour matrix) and its gradient:
 * on wasm one SIMD kernel each way, which must give the bytes of the tf ops it replaces (every
 * dream picture depends on it). 5x7 pixels leave a tail after the four-pixel loop.
 */

const rand = mulberry32(11);

function run(planes: Float32Array, dy: Float32Array, shape: [number, number, number, number], withOps: boolean) {
  const mix = tf.tensor2d(decorrelationMatrix(), [3, 3]);
  const x = tf.tensor4d(planes, shape);
  const [B, , h, w] = shape;
  const f = (t: tf.Tensor4D) => {
    if (!withOps) return mixPlanes(t, mix, 4);
    const p = t.transpose([0, 2, 3, 1]).div(4);
    return tf.matMul(p.reshape([-1, 3]), mix).reshape(p.shape) as tf.Tensor4D;
  };
  const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => f(t as tf.Tensor4D).mul(tf.tensor4d(dy, [B, h, w, 3])).sum() as tf.Scalar)(x);
  const pixels = tf.tidy(() => f(x));
  const out = { shape: pixels.shape, pixels: Array.from(pixels.dataSync()), grad: Array.from(grad.dataSync()), sum: value.dataSync()[0] };
  tf.dispose([mix, x, value, grad, pixels]);
  return out;
}

test.each([
  [[2, 3, 5, 7]],
  [[1, 3, 8, 8]],
] as Array<[[number, number, number, number]]>)('wasm mixPlanes gives the tf ops\' exact bytes, forward and back, for %j', async (shape) => {
  await initBackend('wasm');
  const n = shape.reduce((a, b) => a * b, 1);
  const planes = Float32Array.from({ length: n }, () => Math.fround(rand() * 8 - 4));
  const dy = Float32Array.from({ length: n }, () => Math.fround(rand() * 2 - 1));
  // The kernel path, not the tf ops' fallback, is what runs here.
  const profile = await tf.profile(() => tf.tidy(() => mixPlanes(tf.tensor4d(planes, shape), tf.eye(3) as tf.Tensor2D, 4)));
  expect(profile.kernelNames).toContain('CnnvizMixPlanes');
  const ours = run(planes, dy, shape, false);
  const ops = run(planes, dy, shape, true);
  expect(ours.shape).toEqual([shape[0], shape[2], shape[3], 3]);
  expect(ours.pixels).toEqual(ops.pixels);
  expect(ours.grad).toEqual(ops.grad);
  // And it is the mix: pixel (b, y, x) channel j = sum_i plane_i / 4 * M[i][j].
  const m = decorrelationMatrix();
  const [, , h, w] = shape;
  const at = (b: number, i: number, p: number) => planes[(b * 3 + i) * h * w + p];
  const want = Math.fround(at(1 % shape[0], 0, 6) / 4) * m[1] + Math.fround(at(1 % shape[0], 1, 6) / 4) * m[4] + Math.fround(at(1 % shape[0], 2, 6) / 4) * m[7];
  expect(ours.pixels[((1 % shape[0]) * h * w + 6) * 3 + 1]).toBeCloseTo(want, 5);
});
