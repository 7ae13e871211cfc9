import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { sampleGather, sampleScatter } from '../src/backend/bilinear-sample.js';
import { mulberry32, expectClose } from './gradients-helpers.js';

/**
 * The gather/scatter kernels (ours on wasm, loops on cpu) against the sums written out here,
 * over batches of NHWC pictures that share their taps, with taps that repeat a source pixel.
 */

const rand = mulberry32(21);

function taps(n: number, p: number): { index: Int32Array; weight: Float32Array } {
  const index = Int32Array.from({ length: 4 * n }, (_, i) => (i % 7 === 0 ? 0 : Math.floor(rand() * p)));
  const weight = Float32Array.from({ length: 5 * n }, () => Math.fround(rand()));
  return { index, weight };
}

const tapTensors = (t: { index: Int32Array; weight: Float32Array }) => ({ index: tf.tensor1d(t.index, 'int32'), weight: tf.tensor1d(t.weight) });

describe.each(['wasm', 'cpu'])('bilinear sample kernels on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test.each([
    [8, 3, 50, 30],
    [1, 3, 9, 17],
    [3, 1, 40, 11],
    [2, 4, 5, 5],
  ])('gather, batch %i of %i channels: each output pixel is the weighted sum of its four source pixels plus the fill', (batch, c, n, p) => {
    const t = taps(n, p);
    const fill = 0.5;
    const src = Float32Array.from({ length: batch * p * c }, () => Math.fround(rand() * 2 - 1));
    const got = tf.tidy(() => sampleGather(tf.tensor3d(src, [batch, p, c]), tapTensors(t), fill).dataSync() as Float32Array);
    const want = new Float32Array(batch * n * c);
    for (let b = 0; b < batch; b++)
      for (let i = 0; i < n; i++)
        for (let j = 0; j < c; j++) {
          let v = fill * t.weight[4 * n + i];
          for (let q = 0; q < 4; q++) v += t.weight[q * n + i] * src[(b * p + t.index[q * n + i]) * c + j];
          want[(b * n + i) * c + j] = v;
        }
    expectClose(got, want, 1e-5, `gather ${batch}x${c}`);
  });

  test.each([
    [8, 3, 50, 30],
    [2, 3, 200, 3],
    [3, 1, 40, 11],
  ])('scatter, batch %i of %i channels: the adjoint of gather (<G x, y> = <x, S y>), repeated taps summed', (batch, c, n, p) => {
    const t = taps(n, p);
    const x = Float32Array.from({ length: batch * p * c }, () => Math.fround(rand() * 2 - 1));
    const y = Float32Array.from({ length: batch * n * c }, () => Math.fround(rand() * 2 - 1));
    const [gx, sy] = tf.tidy(() => {
      const tp = tapTensors(t);
      // No fill: with one, gather is affine, not linear.
      return [sampleGather(tf.tensor3d(x, [batch, p, c]), tp, 0).dataSync(), sampleScatter(tf.tensor3d(y, [batch, n, c]), tp, p).dataSync()];
    });
    expect(sy.length).toBe(batch * p * c);
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);
    const lhs = dot(gx, y);
    expect(Math.abs(lhs - dot(x, sy))).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
    // Source pixels that no tap reads get exactly 0 (the output is cleared first, not garbage).
    const read = new Set(t.index);
    for (let b = 0; b < batch; b++)
      for (let r = 0; r < p; r++) if (!read.has(r)) expect(Array.from(sy.slice((b * p + r) * c, (b * p + r + 1) * c))).toEqual(new Array(c).fill(0));
  });
});
