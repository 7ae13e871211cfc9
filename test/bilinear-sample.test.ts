import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { sampleGather, sampleScatter } from '../src/backend/bilinear-sample.js';
import { mapValues, placeChain, sampleAffine, standardTransforms } from '../src/dream/transforms.js';
import { createRng } from '../src/dream/random.js';
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
  // The maps a dream uses: MobileNet's [-1, 1], a [0, 255] model, and one that rounds.
  const MAPS = [
    { scale: 2, offset: -1 },
    { scale: 255, offset: 0 },
    { scale: 0.7, offset: 0.3 },
  ];

  test.each(MAPS)('gather with a value map (scale $scale, offset $offset): the same float32s as the plain gather times scale plus offset as tf ops', (map) => {
    for (const [batch, c, n, p] of [
      [8, 3, 50, 30],
      [3, 1, 40, 11],
      [2, 4, 5, 5],
    ]) {
      const t = taps(n, p);
      const src = Float32Array.from({ length: batch * p * c }, () => Math.fround(rand() * 2 - 1));
      const [got, want] = tf.tidy(() => {
        const x = tf.tensor3d(src, [batch, p, c]);
        const tp = tapTensors(t);
        return [sampleGather(x, tp, 0.5, map).dataSync(), sampleGather(x, tp, 0.5).mul(map.scale).add(map.offset).dataSync()];
      });
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });

  test.each(MAPS)('scatter with scale $scale: the same float32s as the plain scatter of dy times scale', ({ scale }) => {
    const [batch, c, n, p] = [8, 3, 50, 30];
    const t = taps(n, p);
    const dy = Float32Array.from({ length: batch * n * c }, () => Math.fround(rand() * 2 - 1));
    const [got, want] = tf.tidy(() => {
      const y = tf.tensor3d(dy, [batch, n, c]);
      const tp = tapTensors(t);
      return [sampleScatter(y, tp, p, scale).dataSync(), sampleScatter(y.mul(scale) as tf.Tensor3D, tp, p).dataSync()];
    });
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  test('sampleAffine with the input range folded in: the same values and picture gradient as sampling, then x 2 - 1 as tf ops', () => {
    const image = tf.tidy(() => tf.randomUniform([2, 20, 20, 3], 0, 1, 'float32', 3) as tf.Tensor4D);
    const placed = placeChain(standardTransforms(), 20, 20, createRng(5));
    const weights = tf.randomNormal([2, placed.height, placed.width, 3], 0, 1, 'float32', 4);
    const map = { scale: 2, offset: -1 };
    const [folded, separate] = [(x: tf.Tensor) => sampleAffine(x as tf.Tensor4D, placed, map), (x: tf.Tensor) => mapValues(sampleAffine(x as tf.Tensor4D, placed), map)];
    for (const f of [folded, separate]) expect(f(image).shape).toEqual([2, placed.height, placed.width, 3]);
    expect(Array.from(folded(image).dataSync())).toEqual(Array.from(separate(image).dataSync()));
    const grad = (f: (x: tf.Tensor) => tf.Tensor) => tf.grad((x: tf.Tensor) => f(x).mul(weights).sum())(image).dataSync();
    const g = grad(folded);
    expect(Array.from(g)).toEqual(Array.from(grad(separate)));
    expect(Math.max(...Array.from(g, Math.abs))).toBeGreaterThan(0);
    tf.dispose([image, weights]);
  });
});
