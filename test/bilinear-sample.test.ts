import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { sampleGather, sampleScatter } from '../src/backend/bilinear-sample.js';
import { mulberry32, expectClose } from './gradients-helpers.js';

/**
 * The gather/scatter kernels (our SIMD ones on wasm for rows of a multiple of 4 floats, loops
 * otherwise) against the sums written out here, with taps that repeat a source pixel (as the
 * grey pixel is, for every point outside a picture).
 */

const rand = mulberry32(21);

function taps(n: number, p: number): { index: Int32Array; weight: Float32Array } {
  const index = Int32Array.from({ length: 4 * n }, (_, i) => (i % 7 === 0 ? p - 1 : Math.floor(rand() * p)));
  const weight = Float32Array.from({ length: 4 * n }, () => Math.fround(rand()));
  return { index, weight };
}

describe.each(['wasm', 'cpu'])('bilinear sample kernels on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test.each([
    [8, 50, 30],
    [24, 9, 17],
    [3, 40, 11],
    [1, 5, 5],
  ])('gather, k = %i: each output row is the weighted sum of its four source rows', (k, n, p) => {
    const t = taps(n, p);
    const src = Float32Array.from({ length: p * k }, () => Math.fround(rand() * 2 - 1));
    const got = tf.tidy(() => sampleGather(tf.tensor2d(src, [p, k]), { index: tf.tensor1d(t.index, 'int32'), weight: tf.tensor1d(t.weight) }).dataSync() as Float32Array);
    const want = new Float32Array(n * k);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < k; c++) for (let q = 0; q < 4; q++) want[i * k + c] += t.weight[q * n + i] * src[t.index[q * n + i] * k + c];
    expectClose(got, want, 1e-5, `gather k=${k}`);
  });

  test.each([
    [8, 50, 30],
    [12, 200, 3],
    [3, 40, 11],
  ])('scatter, k = %i: the adjoint of gather (<G x, y> = <x, S y>), repeated taps summed', (k, n, p) => {
    const t = taps(n, p);
    const x = Float32Array.from({ length: p * k }, () => Math.fround(rand() * 2 - 1));
    const y = Float32Array.from({ length: n * k }, () => Math.fround(rand() * 2 - 1));
    const [gx, sy] = tf.tidy(() => {
      const tp = { index: tf.tensor1d(t.index, 'int32'), weight: tf.tensor1d(t.weight) };
      return [sampleGather(tf.tensor2d(x, [p, k]), tp).dataSync(), sampleScatter(tf.tensor2d(y, [n, k]), tp, p).dataSync()];
    });
    expect(sy.length).toBe(p * k);
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);
    const lhs = dot(gx, y);
    expect(Math.abs(lhs - dot(x, sy))).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
    // Source rows that no tap reads get exactly 0 (the output is cleared first, not garbage).
    const read = new Set(t.index);
    for (let r = 0; r < p; r++) if (!read.has(r)) expect(Array.from(sy.slice(r * k, (r + 1) * k))).toEqual(new Array(k).fill(0));
  });
});
