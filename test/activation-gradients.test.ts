import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { installActivationGradients } from '../src/backend/activation-gradients.js';
import { mulberry32, expectClose } from './gradients-helpers.js';

/**
 * The step-based activation gradients against masks computed here element by element, on
 * both backends, with inputs that sit exactly on every boundary (0, 6, the clip bounds):
 * the masks must be tfjs's own (x >= lo and x <= hi for clipByValue, 0 < x <= 6 for relu6,
 * a <= b / a > b for minimum), so the gradients are exactly dy or exactly 0.
 */

const rand = mulberry32(11);
const N = 600;
// Random values in [-8, 8] with every boundary value planted many times.
const BOUNDARIES = [0, 6, -1.5, 2.25, -0, 8, -8];
const xs = Float32Array.from({ length: N }, (_, i) => (i % 5 === 0 ? BOUNDARIES[(i / 5) % BOUNDARIES.length] : Math.fround(rand() * 16 - 8)));
const dys = Float32Array.from({ length: N }, () => Math.fround(rand() * 2 - 1) || 0.5);

// dy * 0 is -0 for a negative dy (tfjs's own gradients too): compare values, not zero signs.
const values = (a: ArrayLike<number>) => Array.from(a, (v) => v + 0);

function gradOf(f: (x: tf.Tensor) => tf.Tensor, x: Float32Array = xs): number[] {
  return values(tf.tidy(() => tf.grad(f)(tf.tensor1d(x), tf.tensor1d(dys)).dataSync() as Float32Array));
}

const masked = (keep: (x: number) => boolean) => values(Float32Array.from(xs, (x, i) => (keep(x) ? dys[i] : 0)));

describe.each(['wasm', 'cpu'])('activation gradients on %s', (backend) => {
  beforeAll(async () => {
    expect(await initBackend(backend as 'wasm' | 'cpu')).toBe(backend);
    installActivationGradients();
  });

  test('relu passes dy where x > 0', () => {
    expect(gradOf((x) => tf.relu(x))).toEqual(masked((x) => x > 0));
  });

  test('relu6 passes dy where 0 < x <= 6', () => {
    expect(gradOf((x) => tf.relu6(x))).toEqual(masked((x) => x > 0 && x <= 6));
  });

  test.each([
    [-1.5, 2.25],
    [0, 6],
    [-Infinity, 2.25],
    [-1.5, Infinity],
  ])('clipByValue(%p, %p) passes dy where lo <= x <= hi', (lo, hi) => {
    expect(gradOf((x) => tf.clipByValue(x, lo, hi))).toEqual(masked((x) => x >= lo && x <= hi));
  });

  test('minimum and maximum against a scalar send dy to the chosen side, ties as tfjs does', () => {
    // minimum(6, x): the tensor side gets dy where 6 > x; maximum(x, 0): where x >= 0.
    expect(gradOf((x) => tf.minimum(tf.scalar(6), x))).toEqual(masked((x) => 6 > x));
    expect(gradOf((x) => tf.minimum(x, tf.scalar(6)))).toEqual(masked((x) => x <= 6));
    expect(gradOf((x) => tf.maximum(x, tf.scalar(0)))).toEqual(masked((x) => x >= 0));
    expect(gradOf((x) => tf.maximum(tf.scalar(0), x))).toEqual(masked((x) => 0 < x));
  });

  test('no comparison kernel runs in these gradients (they are the slow path on wasm)', async () => {
    const x = tf.tensor1d(xs);
    const dy = tf.tensor1d(dys);
    const run = () => {
      for (const f of [(v: tf.Tensor) => tf.minimum(6, tf.relu(v)), (v: tf.Tensor) => tf.clipByValue(v, -1, 1), (v: tf.Tensor) => tf.relu6(v), (v: tf.Tensor) => tf.maximum(v, 0)]) {
        tf.dispose(tf.grad(f)(x, dy));
      }
    };
    const { kernelNames } = await tf.profile(run);
    tf.dispose([x, dy]);
    expect(kernelNames.filter((k) => /^(Greater|GreaterEqual|Less|LessEqual|LogicalAnd|Select)$/.test(k))).toEqual([]);
  });

  test('minimum of two tensors: both gradients', () => {
    const other = Float32Array.from(xs, (x, i) => (i % 3 === 0 ? x : Math.fround(rand() * 16 - 8)));
    const [ga, gb] = tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.minimum(a, b))([tf.tensor1d(xs), tf.tensor1d(other)], tf.tensor1d(dys)).map((g) => g.dataSync() as Float32Array));
    expect(values(ga)).toEqual(values(Array.from(xs, (a, i) => (a <= other[i] ? dys[i] : 0))));
    expect(values(gb)).toEqual(values(Array.from(xs, (a, i) => (a > other[i] ? dys[i] : 0))));
  });
});

describe('wasm FusedBatchNorm (two XNNPACK broadcasts) matches cpu', () => {
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  test.each([
    ['scale and offset', true, true],
    ['no scale', false, true],
    ['no offset', true, false],
  ])('%s', async (_, withScale, withOffset) => {
    const c = 7;
    const x = Float32Array.from({ length: 2 * 5 * 6 * c }, () => rand() * 10 - 5);
    const stats = () => Float32Array.from({ length: c }, () => rand() * 2 - 1);
    const [mean, offset, scale] = [stats(), stats(), stats()];
    const variance = Float32Array.from({ length: c }, () => rand() * 3 + 0.01);
    const norm = () =>
      tf.tidy(() =>
        tf
          .batchNorm(tf.tensor4d(x, [2, 5, 6, c]), tf.tensor1d(mean), tf.tensor1d(variance), withOffset ? tf.tensor1d(offset) : undefined, withScale ? tf.tensor1d(scale) : undefined, 1e-3)
          .dataSync() as Float32Array,
      );
    await initBackend('cpu');
    const ref = norm();
    await initBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expectClose(norm(), ref, 1e-5, 'batchNorm');
  });
});
