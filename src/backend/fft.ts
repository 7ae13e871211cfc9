import tf = require('@tensorflow/tfjs');
import FFT from 'fft.js';
import { UsageError } from '../errors.js';
import { hasFftKernels, irfft2dAdjointKernel, irfft2dKernel } from './fft-kernels.js';

/**
 * A real 2-D inverse FFT (numpy.fft.irfft2) and its exact gradient. On wasm, power-of-two
 * sizes run as kernels of ours (fft-kernels.ts, SIMD); everything else is computed here in
 * JavaScript on the tensors' data: wasm and cpu have no FFT kernels, and tfjs's own irfft
 * builds the full complex spectrum. For a batch-8 dream step at 128 px the dense DFT matrix
 * products this replaced took ~34 ms, this JavaScript and its adjoint ~17 ms, the kernels
 * ~6 ms. Here fft.js does the power-of-two transforms; other lengths go through Bluestein's
 * chirp-z on top of it, so every size stays O(n log n).
 */

/** A complex DFT of one length on interleaved [re, im] arrays of 2n doubles. */
interface Dft {
  /** Σ x e^(-2πi jk/n), unscaled. */
  forward(out: Float64Array, x: Float64Array): void;
  /** Σ x e^(+2πi jk/n) / n. */
  inverse(out: Float64Array, x: Float64Array): void;
}

const identityDft: Dft = {
  forward: (out, x) => out.set(x),
  inverse: (out, x) => out.set(x),
};

function radix2Dft(n: number): Dft {
  const f = new FFT(n);
  return { forward: (out, x) => f.transform(out, x), inverse: (out, x) => f.inverseTransform(out, x) };
}

/** Bluestein: jk = (j² + k² - (k-j)²)/2 turns a length-n DFT into a power-of-two convolution. */
function bluesteinDft(n: number): Dft {
  let m = 1;
  while (m < 2 * n - 1) m *= 2;
  const f = new FFT(m);
  // chirp[j] = e^(-πi j²/n); j² mod 2n keeps the angle exact for large j.
  const chirp = new Float64Array(2 * n);
  for (let j = 0; j < n; j++) {
    const a = (Math.PI * ((j * j) % (2 * n))) / n;
    chirp[2 * j] = Math.cos(a);
    chirp[2 * j + 1] = -Math.sin(a);
  }
  const b = new Float64Array(2 * m);
  for (let j = 0; j < n; j++) {
    for (const at of j === 0 ? [0] : [j, m - j]) {
      b[2 * at] = chirp[2 * j];
      b[2 * at + 1] = -chirp[2 * j + 1];
    }
  }
  const kernel = new Float64Array(2 * m);
  f.transform(kernel, b);
  const a = new Float64Array(2 * m);
  const spectrum = new Float64Array(2 * m);
  const conj = new Float64Array(2 * n);
  const forward = (out: Float64Array, x: Float64Array) => {
    a.fill(0);
    for (let j = 0; j < n; j++) {
      const xr = x[2 * j], xi = x[2 * j + 1], cr = chirp[2 * j], ci = chirp[2 * j + 1];
      a[2 * j] = xr * cr - xi * ci;
      a[2 * j + 1] = xr * ci + xi * cr;
    }
    f.transform(spectrum, a);
    for (let k = 0; k < m; k++) {
      const sr = spectrum[2 * k], si = spectrum[2 * k + 1], kr = kernel[2 * k], ki = kernel[2 * k + 1];
      spectrum[2 * k] = sr * kr - si * ki;
      spectrum[2 * k + 1] = sr * ki + si * kr;
    }
    f.inverseTransform(a, spectrum);
    for (let k = 0; k < n; k++) {
      const vr = a[2 * k], vi = a[2 * k + 1], cr = chirp[2 * k], ci = chirp[2 * k + 1];
      out[2 * k] = vr * cr - vi * ci;
      out[2 * k + 1] = vr * ci + vi * cr;
    }
  };
  // inverse(x) = conj(forward(conj(x))) / n
  const inverse = (out: Float64Array, x: Float64Array) => {
    for (let j = 0; j < n; j++) {
      conj[2 * j] = x[2 * j];
      conj[2 * j + 1] = -x[2 * j + 1];
    }
    forward(out, conj);
    for (let k = 0; k < n; k++) {
      out[2 * k] /= n;
      out[2 * k + 1] /= -n;
    }
  };
  return { forward, inverse };
}

const dfts = new Map<number, Dft>();

function dftOf(n: number): Dft {
  let d = dfts.get(n);
  if (!d) {
    d = n === 1 ? identityDft : (n & (n - 1)) === 0 ? radix2Dft(n) : bluesteinDft(n);
    dfts.set(n, d);
  }
  return d;
}

/** Forget the cached transform plans (they are rebuilt on demand). */
export function clearFftBases(): void {
  dfts.clear();
}

/**
 * Inverse real 2-D DFT of `planes` half spectra [h, wf] into [h, w] images. Columns first
 * (a complex inverse along H), then rows two at a time: two real outputs are the real and
 * imaginary parts of one complex inverse of (A + iB), A and B the rows' Hermitian spectra.
 * numpy drops the imaginary parts of the DC and (even-w) Nyquist bins; so does this.
 */
function inversePlanes(re: Float32Array, im: Float32Array, planes: number, h: number, w: number): Float32Array {
  const wf = Math.floor(w / 2) + 1;
  const nyquist = w % 2 === 0 ? w / 2 : -1;
  const alongH = dftOf(h), alongW = dftOf(w);
  const out = new Float32Array(planes * h * w);
  const col = new Float64Array(2 * h), colOut = new Float64Array(2 * h);
  const z = new Float64Array(2 * h * wf); // [y][m] interleaved
  const row = new Float64Array(2 * w), rowOut = new Float64Array(2 * w);
  for (let p = 0; p < planes; p++) {
    const base = p * h * wf;
    for (let m = 0; m < wf; m++) {
      for (let k = 0; k < h; k++) {
        col[2 * k] = re[base + k * wf + m];
        col[2 * k + 1] = im[base + k * wf + m];
      }
      alongH.inverse(colOut, col);
      // numpy keeps only the real part of the DC and Nyquist columns after this pass.
      const real = m === 0 || m === nyquist;
      for (let y = 0; y < h; y++) {
        z[2 * (y * wf + m)] = colOut[2 * y];
        z[2 * (y * wf + m) + 1] = real ? 0 : colOut[2 * y + 1];
      }
    }
    for (let y = 0; y < h; y += 2) {
      // Rows y (a + ib) and y + 1 (c + id, zero past the last row) as (a - d) + i(b + c), each
      // Hermitian-extended: bin m >= wf is the conjugate of bin w - m.
      const r1 = 2 * y * wf, r2 = r1 + 2 * wf, two = y + 1 < h;
      for (let m = 0; m < w; m++) {
        const k = m < wf ? m : w - m, sign = m < wf ? 1 : -1;
        const a = z[r1 + 2 * k], b = sign * z[r1 + 2 * k + 1];
        const c = two ? z[r2 + 2 * k] : 0, d = two ? sign * z[r2 + 2 * k + 1] : 0;
        row[2 * m] = a - d;
        row[2 * m + 1] = b + c;
      }
      alongW.inverse(rowOut, row);
      const o = p * h * w + y * w;
      for (let x = 0; x < w; x++) out[o + x] = rowOut[2 * x];
      if (two) for (let x = 0; x < w; x++) out[o + w + x] = rowOut[2 * x + 1];
    }
  }
  return out;
}

/**
 * The adjoint of inversePlanes: the gradient with respect to re and im given the gradient
 * `g` of its [h, w] outputs. Rows two at a time through one forward complex DFT of
 * (g1 + i g2), split by Hermitian symmetry; then a forward DFT down each column.
 */
function inversePlanesAdjoint(g: Float32Array, planes: number, h: number, w: number): { re: Float32Array; im: Float32Array } {
  const wf = Math.floor(w / 2) + 1;
  const nyquist = w % 2 === 0 ? w / 2 : -1;
  const alongH = dftOf(h), alongW = dftOf(w);
  const re = new Float32Array(planes * h * wf), im = new Float32Array(planes * h * wf);
  const row = new Float64Array(2 * w), rowOut = new Float64Array(2 * w);
  const dz = new Float64Array(2 * h * wf);
  const col = new Float64Array(2 * h), colOut = new Float64Array(2 * h);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h; y += 2) {
      const o = p * h * w + y * w;
      for (let x = 0; x < w; x++) {
        row[2 * x] = g[o + x];
        row[2 * x + 1] = y + 1 < h ? g[o + w + x] : 0;
      }
      alongW.forward(rowOut, row);
      for (let m = 0; m < wf; m++) {
        const pr = rowOut[2 * m], pi = rowOut[2 * m + 1];
        const mm = (w - m) % w;
        const qr = rowOut[2 * mm], qi = -rowOut[2 * mm + 1]; // conj(P[w - m])
        // Each kept bin stands for itself and its dropped mirror: weight 2, except DC and Nyquist.
        const real = m === 0 || m === nyquist;
        const s = (real ? 1 : 2) / w;
        // F1 = (P + Q)/2, F2 = (P - Q)/(2i)
        dz[2 * (y * wf + m)] = (s * (pr + qr)) / 2;
        dz[2 * (y * wf + m) + 1] = real ? 0 : (s * (pi + qi)) / 2;
        if (y + 1 < h) {
          dz[2 * ((y + 1) * wf + m)] = (s * (pi - qi)) / 2;
          dz[2 * ((y + 1) * wf + m) + 1] = real ? 0 : (-s * (pr - qr)) / 2;
        }
      }
    }
    const base = p * h * wf;
    for (let m = 0; m < wf; m++) {
      for (let y = 0; y < h; y++) {
        col[2 * y] = dz[2 * (y * wf + m)];
        col[2 * y + 1] = dz[2 * (y * wf + m) + 1];
      }
      alongH.forward(colOut, col);
      for (let k = 0; k < h; k++) {
        re[base + k * wf + m] = colOut[2 * k] / h;
        im[base + k * wf + m] = colOut[2 * k + 1] / h;
      }
    }
  }
  return { re, im };
}

/**
 * numpy.fft.irfft2 over the last two axes: `re` and `im` hold the half spectrum, shape
 * [..., h, floor(w/2)+1]; the result is real, shape [..., h, w]. As numpy does, the
 * imaginary parts of the DC column (and of the Nyquist column when w is even) are ignored.
 * Differentiable with respect to both inputs. With `scale` [h, floor(w/2)+1], the spectrum
 * is (re · scale, im · scale): on wasm inside the transform and its adjoint, the same float32
 * products as multiplying first, without those passes over the batch forward and back.
 */
export function irfft2d(re: tf.Tensor, im: tf.Tensor, h: number, w: number, scale?: tf.Tensor): tf.Tensor {
  const wf = Math.floor(w / 2) + 1;
  const shape = re.shape;
  if (shape.length < 2 || shape[shape.length - 2] !== h || shape[shape.length - 1] !== wf || !tf.util.arraysEqual(shape, im.shape)) {
    throw new UsageError(`irfft2d: expected re and im of shape [..., ${h}, ${wf}] for a ${h}x${w} image, got [${shape}] and [${im.shape}]`);
  }
  const lead = shape.slice(0, -2);
  const planes = lead.reduce((a, b) => a * b, 1);
  if (scale && !tf.util.arraysEqual(scale.shape, [h, wf])) throw new UsageError(`irfft2d: expected a scale of shape [${h}, ${wf}], got [${scale.shape}]`);
  const wasm = hasFftKernels(h, w);
  const fused = wasm && scale !== undefined && scale.dtype === 'float32' ? scale : undefined;
  if (scale && !fused) return tf.tidy(() => irfft2d(tf.mul(re, scale), tf.mul(im, scale), h, w));
  const op = tf.customGrad((...args) => {
    const [a, b] = args as tf.Tensor[];
    const value = wasm
      ? irfft2dKernel(a, b, h, w, fused)
      : tf.tensor(inversePlanes(a.dataSync() as Float32Array, b.dataSync() as Float32Array, planes, h, w), [...lead, h, w]);
    const gradFunc = (dy: tf.Tensor | tf.Tensor[]) => {
      if (wasm) return irfft2dAdjointKernel(dy as tf.Tensor, h, w, fused);
      const g = inversePlanesAdjoint((dy as tf.Tensor).dataSync() as Float32Array, planes, h, w);
      return [tf.tensor(g.re, shape), tf.tensor(g.im, shape)];
    };
    return { value, gradFunc };
  });
  const real = (t: tf.Tensor) => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
  return tf.tidy(() => op(real(re), real(im)));
}

/**
 * |frequency| of each half-spectrum bin of an h x w image, in cycles per pixel: the
 * sqrt(fy^2 + fx^2) of Lucid's rfft2d_freqs, shape [h, floor(w/2)+1] to match irfft2d
 * (Lucid keeps one extra column for odd w and crops the image instead).
 */
export function rfft2dFrequencies(h: number, w: number): tf.Tensor2D {
  const wf = Math.floor(w / 2) + 1;
  const out = new Float32Array(h * wf);
  for (let y = 0; y < h; y++) {
    // numpy.fft.fftfreq: 0, 1, ..., then negative frequencies from the middle on.
    const fy = (y < Math.floor((h - 1) / 2) + 1 ? y : y - h) / h;
    for (let x = 0; x < wf; x++) {
      const fx = x / w;
      out[y * wf + x] = Math.sqrt(fx * fx + fy * fy);
    }
  }
  return tf.tensor2d(out, [h, wf]);
}
