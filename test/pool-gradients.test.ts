import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { expectClose, mulberry32 } from './gradients-helpers.js';

/**
 * wasm's MaxPoolGrad and AvgPoolGrad are SIMD kernels of ours (simd/kernels.wat): the gradient of
 * tf.maxPool and tf.avgPool on wasm against the cpu backend, ties routed to the first maximum as cpu does,
 * over odd sizes, channel counts that leave a scalar tail, padding and overlapping windows.
 * (test/gradients.test.ts checks the kernel called directly on small random geometries.)
 */

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(async () => {
  await tf.setBackend('wasm');
});

/** The input gradient of sum(pool(x) * dy) on `backend`. */
async function poolGrad(backend: string, x: Float32Array, shape: number[], k: number | [number, number], s: number | [number, number], pad: 'same' | 'valid', seed: number, kind: 'max' | 'avg' = 'max'): Promise<{ dx: Float32Array; kernels: string[] }> {
  const pool = kind === 'max' ? tf.maxPool : tf.avgPool;
  await tf.setBackend(backend);
  const input = tf.tensor4d(x, shape as [number, number, number, number]);
  const outShape = tf.tidy(() => pool(input, k, s, pad).shape);
  const dy = tf.randomNormal(outShape, 0, 1, 'float32', seed);
  let dx: Float32Array = new Float32Array();
  const profile = await tf.profile(() => {
    dx = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.mul(pool(v as tf.Tensor4D, k, s, pad), dy))(input).dataSync() as Float32Array);
  });
  tf.dispose([input, dy]);
  return { dx, kernels: profile.kernels.map((p) => p.name) };
}

const CASES: Array<{ shape: number[]; k: number | [number, number]; s: number | [number, number]; pad: 'same' | 'valid' }> = [
  { shape: [2, 16, 16, 16], k: 2, s: 2, pad: 'valid' },
  { shape: [2, 15, 13, 16], k: 2, s: 2, pad: 'valid' },
  { shape: [2, 15, 13, 16], k: 2, s: 2, pad: 'same' },
  { shape: [1, 17, 11, 7], k: 3, s: 2, pad: 'same' },
  { shape: [1, 17, 11, 5], k: 3, s: 1, pad: 'same' },
  { shape: [2, 9, 10, 12], k: 3, s: 1, pad: 'valid' },
  { shape: [1, 13, 13, 20], k: [3, 2], s: [2, 1], pad: 'same' },
  { shape: [1, 12, 12, 3], k: 5, s: 3, pad: 'same' },
  { shape: [1, 8, 8, 8], k: 1, s: 2, pad: 'valid' },
];

test.each(CASES)('maxPool gradient on wasm equals cpu within 1e-5, ties included: %o', async ({ shape, k, s, pad }) => {
  const rand = mulberry32(shape.reduce((a, b) => a * 31 + b, 7));
  const size = shape.reduce((a, b) => a * b, 1);
  // Small integers: equal maxima in a window are common. Some -Infinity, and a few windows
  // entirely -Infinity (no candidate at all, no gradient) where a whole row is.
  const x = Float32Array.from({ length: size }, () => Math.floor(rand() * 5) - 2);
  for (let i = 0; i < size; i += 37) x[i] = -Infinity;
  const rowLength = shape[2] * shape[3];
  x.fill(-Infinity, 0, rowLength * 3);
  const ref = await poolGrad('cpu', x, shape, k, s, pad, 3);
  const got = await poolGrad('wasm', x, shape, k, s, pad, 3);
  expectClose(got.dx, ref.dx, 1e-5, JSON.stringify({ shape, k, s, pad }));
  // One kernel: none of the composed fallback's argMax, oneHot or transposes ran.
  expect(got.kernels).toContain('MaxPoolGrad');
  for (const composed of ['ArgMax', 'OneHot', 'Transpose']) expect(got.kernels).not.toContain(composed);
});

test('a tie goes to the first maximum in scan order, as on cpu', async () => {
  // One 2x2 window of four equal values, four channels (one SIMD lane each) and a fifth (the scalar tail).
  const x = new Float32Array(4 * 5).fill(1);
  const { dx } = await poolGrad('wasm', x, [1, 2, 2, 5], 2, 2, 'valid', 1);
  const firstPixel = Array.from(dx.slice(0, 5));
  expect(firstPixel.every((v) => v !== 0)).toBe(true);
  expect(Array.from(dx.slice(5)).every((v) => v === 0)).toBe(true);
});

test.each(CASES)('avgPool gradient on wasm equals cpu within 1e-5: %o', async ({ shape, k, s, pad }) => {
  const rand = mulberry32(shape.reduce((a, b) => a * 17 + b, 3));
  const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() - 0.5);
  const ref = await poolGrad('cpu', x, shape, k, s, pad, 4, 'avg');
  const got = await poolGrad('wasm', x, shape, k, s, pad, 4, 'avg');
  expectClose(got.dx, ref.dx, 1e-5, JSON.stringify({ shape, k, s, pad }));
  expect(got.kernels).toContain('AvgPoolGrad');
});
