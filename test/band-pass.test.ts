import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { bandPass, BAND_PASS, REDIRECT_PASS, runPass } from '../src/backend/band-pass.js';
import { simdKernels } from '../src/backend/simd/kernels.js';
import { mulberry32 } from './gradients-helpers.js';

/**
 * The clamp-gradient passes (our SIMD kernels on wasm, loops on cpu) against the rule they
 * implement, written out here element by element, with y sitting exactly on the bounds and
 * lengths that leave a tail after the four-lane loop.
 */

const rand = mulberry32(5);
const BOUNDS = [0, 6, -0, 6.000001, 5.999999];

function data(n: number): { dy: Float32Array; y: Float32Array } {
  const y = Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? BOUNDS[i % BOUNDS.length] : Math.fround(rand() * 10 - 2)));
  const dy = Float32Array.from({ length: n }, () => Math.fround(rand() * 2 - 1) || 0.25);
  return { dy, y };
}

const bandRule = (dy: Float32Array, y: Float32Array, lo: number, hi: number) => Array.from(y, (v, i) => (v > lo && v < hi ? dy[i] : 0));

/** Per example: the band pass, or if it is all zero, dy except where it pushes a unit past a bound. */
function redirectRule(dy: Float32Array, y: Float32Array, batch: number, lo: number, hi: number): number[] {
  const per = dy.length / batch;
  const out: number[] = [];
  for (let e = 0; e < batch; e++) {
    const band = bandRule(dy.subarray(e * per, (e + 1) * per), y.subarray(e * per, (e + 1) * per), lo, hi);
    if (band.some((v) => v !== 0)) out.push(...band);
    else for (let i = e * per; i < (e + 1) * per; i++) out.push((y[i] <= lo && dy[i] > 0) || (y[i] >= hi && dy[i] < 0) ? 0 : dy[i]);
  }
  return out;
}

const values = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => v + 0);

describe.each(['wasm', 'cpu'])('clamp-gradient passes on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test('wasm runs our SIMD kernels, cpu has none', () => {
    expect(simdKernels(tf.backend()) !== null).toBe(backend === 'wasm');
  });

  test.each([[1], [3], [4], [37], [1024 + 3]])('the band pass over %i elements is dy inside (lo, hi), bounds excluded', (n) => {
    const { dy, y } = data(n);
    for (const [lo, hi] of [[0, 6], [0, Infinity], [-1, 2.5]]) {
      const got = tf.tidy(() => values(bandPass(tf.tensor1d(dy), tf.tensor1d(y), lo, hi)));
      expect(got).toEqual(bandRule(dy, y, lo, hi));
    }
  });

  test('a NaN dy outside the band gives 0, inside it stays NaN', () => {
    const got = tf.tidy(() => values(bandPass(tf.tensor1d([NaN, NaN, 1, 2, NaN]), tf.tensor1d([-1, 3, 7, 1, 6]), 0, 6)));
    expect(got).toEqual([0, NaN, 0, 2, 0]);
  });

  test.each([
    [4, 9],
    [3, 64],
    [2, 5],
  ])('the redirect pass over %i examples of %i: the band pass, or the unblocked dy for an example with none', (batch, per) => {
    const { dy, y } = data(batch * per);
    // Example 1 is below the band everywhere (dead relu), and its last one above it.
    for (let i = per; i < 2 * per; i++) y[i] = -Math.abs(y[i]) - 0.5;
    for (let i = (batch - 1) * per; i < batch * per; i++) y[i] = 6 + Math.abs(y[i]);
    for (const [lo, hi] of [[0, 6], [0, Infinity]]) {
      const got = tf.tidy(() => values(runPass(REDIRECT_PASS, tf.tensor2d(dy, [batch, per]), tf.tensor2d(y, [batch, per]), lo, hi)));
      const want = redirectRule(dy, y, batch, lo, hi);
      expect(got).toEqual(want);
      // The dead example really was redirected: it has gradient where the band pass had none.
      expect(want.slice(per, 2 * per).some((v) => v !== 0)).toBe(true);
    }
  });

  test('half a million elements (a MobileNet map) match the rule', () => {
    const n = (1 << 19) + 1;
    const { dy, y } = data(n);
    const got = tf.tidy(() => runPass(BAND_PASS, tf.tensor1d(dy), tf.tensor1d(y), 0, 6).dataSync());
    let bad = 0;
    for (let i = 0; i < n; i++) if (got[i] !== (y[i] > 0 && y[i] < 6 ? dy[i] : 0)) bad++;
    expect(bad).toBe(0);
  });
});

test('the committed kernel binary is what kernels.wat compiles to', () => {
  // Exits 1 (execFileSync throws) when src/backend/simd/kernels-wasm.ts is stale.
  expect(() => execFileSync(process.execPath, ['scripts/build-simd.js', '--check'], { stdio: 'pipe' })).not.toThrow();
});
