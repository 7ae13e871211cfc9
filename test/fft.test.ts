import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { irfft2d, rfft2dFrequencies, clearFftBases } from '../src/backend/fft.js';
import { hasFftKernels, irfft2dAdjointKernel, irfft2dKernel } from '../src/backend/fft-kernels.js';
import { mulberry32, randomArray, expectClose } from './gradients-helpers.js';

/** numpy.fft.irfft2 written out: complex inverse DFT along H, then the Hermitian c2r along W (float64). */
function numpyIrfft2(re: Float32Array, im: Float32Array, h: number, w: number): Float64Array {
  const wf = Math.floor(w / 2) + 1;
  const zr = new Float64Array(h * wf);
  const zi = new Float64Array(h * wf);
  for (let y = 0; y < h; y++) {
    for (let k = 0; k < wf; k++) {
      let sr = 0, si = 0;
      for (let ky = 0; ky < h; ky++) {
        const a = (2 * Math.PI * ky * y) / h;
        const xr = re[ky * wf + k], xi = im[ky * wf + k];
        sr += xr * Math.cos(a) - xi * Math.sin(a);
        si += xr * Math.sin(a) + xi * Math.cos(a);
      }
      zr[y * wf + k] = sr / h;
      zi[y * wf + k] = si / h;
    }
  }
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = zr[y * wf];
      for (let k = 1; k < wf; k++) {
        const a = (2 * Math.PI * k * x) / w;
        const term = zr[y * wf + k] * Math.cos(a) - zi[y * wf + k] * Math.sin(a);
        s += 2 * k === w ? term : 2 * term;
      }
      out[y * w + x] = s / w;
    }
  }
  return out;
}

/** Forward real 2-D DFT (numpy.fft.rfft2) of an h x w image, for the round trip. */
function rfft2(img: Float32Array, h: number, w: number): { re: Float32Array; im: Float32Array } {
  const wf = Math.floor(w / 2) + 1;
  const re = new Float32Array(h * wf), im = new Float32Array(h * wf);
  for (let ky = 0; ky < h; ky++) for (let kx = 0; kx < wf; kx++) {
    let sr = 0, si = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const a = -2 * Math.PI * (ky * y / h + kx * x / w);
      sr += img[y * w + x] * Math.cos(a);
      si += img[y * w + x] * Math.sin(a);
    }
    re[ky * wf + kx] = sr;
    im[ky * wf + kx] = si;
  }
  return { re, im };
}

function read(t: tf.Tensor): Float32Array {
  const d = t.dataSync() as Float32Array;
  t.dispose();
  return d;
}

describe.each(['cpu', 'wasm'])('irfft2d on %s', (backend) => {
  beforeAll(async () => {
    expect(await initBackend(backend)).toBe(backend);
  });
  afterAll(() => clearFftBases());

  test.each([[8, 8], [7, 9], [6, 5], [16, 12], [1, 4], [5, 1]])('matches numpy irfft2 for %ix%i, batched', (h, w) => {
    const rand = mulberry32(h * 100 + w);
    const wf = Math.floor(w / 2) + 1;
    const batch = 3;
    const re = randomArray(rand, batch * h * wf), im = randomArray(rand, batch * h * wf);
    const got = read(tf.tidy(() => irfft2d(tf.tensor3d(re, [batch, h, wf]), tf.tensor3d(im, [batch, h, wf]), h, w)));
    for (let b = 0; b < batch; b++) {
      const ref = numpyIrfft2(re.subarray(b * h * wf, (b + 1) * h * wf), im.subarray(b * h * wf, (b + 1) * h * wf), h, w);
      expectClose(got.subarray(b * h * w, (b + 1) * h * w), ref, 1e-4, `${h}x${w} batch ${b}`);
    }
  });

  test('inverts rfft2 of an image (4-D leading axes)', () => {
    const [h, w] = [10, 7];
    const img = randomArray(mulberry32(3), h * w);
    const { re, im } = rfft2(img, h, w);
    const wf = Math.floor(w / 2) + 1;
    const got = read(tf.tidy(() => irfft2d(tf.tensor4d(re, [1, 1, h, wf]), tf.tensor4d(im, [1, 1, h, wf]), h, w)));
    expectClose(got, img, 1e-4, 'round trip');
  });

  test('gradients flow to both parts and match finite differences', () => {
    const [h, w] = [6, 8];
    const wf = Math.floor(w / 2) + 1;
    const rand = mulberry32(9);
    const re = tf.tensor2d(randomArray(rand, h * wf), [h, wf]);
    const im = tf.tensor2d(randomArray(rand, h * wf), [h, wf]);
    const weights = tf.tensor2d(randomArray(rand, h * w), [h, w]);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(irfft2d(a, b, h, w), weights));
    const [gRe, gIm] = tf.grads(f)([re, im]);
    for (const [which, g] of [[0, gRe], [1, gIm]] as const) {
      const dir = tf.tensor2d(randomArray(rand, h * wf), [h, wf]);
      const eps = 1e-2;
      const shifted = (sign: number) => tf.tidy(() => {
        const d = tf.mul(dir, sign * eps);
        return f(which === 0 ? tf.add(re, d) : re, which === 1 ? tf.add(im, d) : im).dataSync()[0];
      });
      const numeric = (shifted(1) - shifted(-1)) / (2 * eps);
      const analytic = tf.tidy(() => tf.sum(tf.mul(g, dir)).dataSync()[0]);
      expect(Math.abs(numeric - analytic)).toBeLessThan(1e-3 * Math.max(1, Math.abs(analytic)));
      dir.dispose();
    }
    tf.dispose([re, im, weights, gRe, gIm]);
  });

  // The gradient is the exact adjoint: <L(x), g> = <x, L^T(g)> for the linear map L.
  test.each([[6, 8], [7, 9], [16, 12], [1, 4], [5, 1], [128, 128], [33, 20]])('its gradient is the adjoint of the transform for %ix%i', (h, w) => {
    const wf = Math.floor(w / 2) + 1;
    const rand = mulberry32(h * 31 + w);
    const planes = 2;
    const re = tf.tensor3d(randomArray(rand, planes * h * wf), [planes, h, wf]);
    const im = tf.tensor3d(randomArray(rand, planes * h * wf), [planes, h, wf]);
    const g = tf.tensor3d(randomArray(rand, planes * h * w), [planes, h, w]);
    const [gRe, gIm] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(irfft2d(a, b, h, w), g)))([re, im]);
    const lhs = tf.tidy(() => tf.sum(tf.mul(irfft2d(re, im, h, w), g)).dataSync()[0]);
    const rhs = tf.tidy(() => tf.add(tf.sum(tf.mul(re, gRe)), tf.sum(tf.mul(im, gIm))).dataSync()[0]);
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
    tf.dispose([re, im, g, gRe, gIm]);
  });

  test('keeps no tensors', () => {
    const run = () => tf.tidy(() => irfft2d(tf.ones([2, 8, 5]), tf.zeros([2, 8, 5]), 8, 8)).dispose();
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) run();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('rejects a spectrum of the wrong shape with a message naming both', () => {
    expect(() => irfft2d(tf.zeros([8, 8]), tf.zeros([8, 8]), 8, 8)).toThrow(/\[\.\.\., 8, 5\].*got \[8,8\]/);
  });
});

test('rfft2dFrequencies follows numpy.fft.fftfreq', () => {
  const f = rfft2dFrequencies(4, 5);
  expect(f.shape).toEqual([4, 3]);
  const v = Array.from(f.dataSync());
  f.dispose();
  const fy = [0, 0.25, -0.5, -0.25];
  const fx = [0, 0.2, 0.4];
  const ref = fy.flatMap((y) => fx.map((x) => Math.sqrt(x * x + y * y)));
  v.forEach((x, i) => expect(x).toBeCloseTo(ref[i], 6));
});

describe('irfft2d kernels of ours on wasm (power-of-two sizes)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  test('are what irfft2d uses there', () => {
    expect(hasFftKernels(128, 128)).toBe(true);
    expect(hasFftKernels(8, 4)).toBe(true);
    expect(hasFftKernels(6, 8)).toBe(false);
    expect(hasFftKernels(2, 8)).toBe(false);
  });

  test.each([[4, 4], [8, 16], [32, 8], [128, 16], [16, 128]])('match numpy irfft2 and have the exact adjoint for %ix%i, 3 planes', (h, w) => {
    const rand = mulberry32(h * 31 + w);
    const wf = w / 2 + 1;
    const re = randomArray(rand, 3 * h * wf), im = randomArray(rand, 3 * h * wf);
    const got = read(irfft2dKernel(tf.tensor(re, [3, h, wf]), tf.tensor(im, [3, h, wf]), h, w));
    for (let p = 0; p < 3; p++) {
      const want = numpyIrfft2(re.subarray(p * h * wf, (p + 1) * h * wf), im.subarray(p * h * wf, (p + 1) * h * wf), h, w);
      expectClose(got.subarray(p * h * w, (p + 1) * h * w), Float32Array.from(want), 1e-5, `plane ${p}`);
    }
    // <L(re, im), g> = <(re, im), L^T(g)>
    const g = randomArray(rand, 3 * h * w);
    const [gr, gi] = irfft2dAdjointKernel(tf.tensor(g, [3, h, w]), h, w).map(read);
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);
    const lhs = dot(got, g);
    expect(Math.abs(lhs - (dot(re, gr) + dot(im, gi)))).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
  });
  // The spectral image's 1/f weights applied inside the transforms: exactly the float32s of
  // multiplying the spectrum first, forward and in the gradient (whose rounding differs only
  // if the products are taken in another order).
  test.each([[8, 16], [128, 128], [16, 4]])('with a spectrum scale: the same float32s as irfft2d of the scaled spectrum, value and gradients, %ix%i', (h, w) => {
    const rand = mulberry32(h * 7 + w);
    const wf = w / 2 + 1;
    const re = tf.tensor(randomArray(rand, 2 * 3 * h * wf), [2, 3, h, wf]);
    const im = tf.tensor(randomArray(rand, 2 * 3 * h * wf), [2, 3, h, wf]);
    const scale = tf.tensor(Float32Array.from(randomArray(rand, h * wf), (v) => Math.fround(1 + 9 * Math.abs(v))), [h, wf]);
    const g = tf.tensor(randomArray(rand, 2 * 3 * h * w), [2, 3, h, w]);
    const fused = (a: tf.Tensor, b: tf.Tensor) => irfft2d(a, b, h, w, scale);
    const separate = (a: tf.Tensor, b: tf.Tensor) => irfft2d(tf.mul(a, scale), tf.mul(b, scale), h, w);
    const values = [fused, separate].map((f) => read(f(re, im)));
    expect(Array.from(values[0])).toEqual(Array.from(values[1]));
    const grads = [fused, separate].map((f) => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), g)))([re, im]).map(read));
    expect(Array.from(grads[0][0])).toEqual(Array.from(grads[1][0]));
    expect(Array.from(grads[0][1])).toEqual(Array.from(grads[1][1]));
    expect(Math.max(...Array.from(grads[0][0], Math.abs))).toBeGreaterThan(0);
    tf.dispose([re, im, scale, g]);
  });
});
