import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';

/**
 * A real 2-D inverse FFT as two matrix products, so it runs (and differentiates) on every
 * backend: wasm and cpu have no FFT kernels, and tfjs's own irfft builds the full complex
 * spectrum. Feature-visualisation images are small (≤ 512 px), where a dense DFT matrix on
 * XNNPACK beats an O(n log n) FFT made of many small ops anyway.
 */

interface Bases {
  /** [2H, 2H]: the complex inverse DFT along H acting on [re | im] rows. */
  alongH: tf.Tensor2D;
  /** [2Wf, W]: the Hermitian inverse along W from [re | im] of the half spectrum. */
  alongW: tf.Tensor2D;
}

const bases = new Map<string, Bases>();

function makeBases(h: number, w: number): Bases {
  const wf = Math.floor(w / 2) + 1;
  // Row-vector convention: out = in · M. Rows of M are indexed by [re(k) | im(k)].
  const mh = new Float32Array(4 * h * h);
  for (let k = 0; k < h; k++) {
    for (let y = 0; y < h; y++) {
      const angle = (2 * Math.PI * ((k * y) % h)) / h;
      const c = Math.cos(angle) / h;
      const s = Math.sin(angle) / h;
      // (a + ib)(c + is) = (ac - bs) + i(as + bc)
      mh[k * 2 * h + y] = c; // re -> re
      mh[k * 2 * h + h + y] = s; // re -> im
      mh[(h + k) * 2 * h + y] = -s; // im -> re
      mh[(h + k) * 2 * h + h + y] = c; // im -> im
    }
  }
  const mw = new Float32Array(2 * wf * w);
  for (let k = 0; k < wf; k++) {
    // Bins with a mirror image in the dropped half count twice; DC and (even) Nyquist once.
    const weight = k === 0 || 2 * k === w ? 1 : 2;
    for (let x = 0; x < w; x++) {
      const angle = (2 * Math.PI * ((k * x) % w)) / w;
      mw[k * w + x] = (weight * Math.cos(angle)) / w;
      mw[(wf + k) * w + x] = (-weight * Math.sin(angle)) / w;
    }
  }
  return {
    alongH: tf.keep(tf.tensor2d(mh, [2 * h, 2 * h])),
    alongW: tf.keep(tf.tensor2d(mw, [2 * wf, w])),
  };
}

function basesFor(h: number, w: number): Bases {
  // Per backend: a basis living on another backend would be copied over on every use.
  const key = `${tf.getBackend()}:${h}x${w}`;
  let b = bases.get(key);
  if (!b || b.alongH.isDisposed || b.alongW.isDisposed) {
    b = makeBases(h, w);
    bases.set(key, b);
  }
  return b;
}

/** Dispose the cached DFT bases (they are rebuilt on demand). */
export function clearFftBases(): void {
  for (const b of bases.values()) tf.dispose([b.alongH, b.alongW]);
  bases.clear();
}

/**
 * numpy.fft.irfft2 over the last two axes: `re` and `im` hold the half spectrum, shape
 * [..., h, floor(w/2)+1]; the result is real, shape [..., h, w]. As numpy does, the
 * imaginary parts of the DC column (and of the Nyquist column when w is even) are ignored.
 * Differentiable with respect to both inputs.
 */
export function irfft2d(re: tf.Tensor, im: tf.Tensor, h: number, w: number): tf.Tensor {
  const wf = Math.floor(w / 2) + 1;
  const shape = re.shape;
  if (shape.length < 2 || shape[shape.length - 2] !== h || shape[shape.length - 1] !== wf || !tf.util.arraysEqual(shape, im.shape)) {
    throw new UsageError(`irfft2d: expected re and im of shape [..., ${h}, ${wf}] for a ${h}x${w} image, got [${shape}] and [${im.shape}]`);
  }
  const lead = shape.slice(0, -2);
  const batch = lead.reduce((a, b) => a * b, 1);
  return tf.tidy(() => {
    const { alongH, alongW } = basesFor(h, w);
    // [B, 2, H, Wf] -> [B, Wf, 2, H]: each row holds one column's re | im along H.
    const both = tf.stack([tf.reshape(re, [batch, h, wf]), tf.reshape(im, [batch, h, wf])], 1);
    const columns = tf.reshape(tf.transpose(both, [0, 3, 1, 2]), [batch * wf, 2 * h]);
    const z = tf.matMul(columns, alongH); // [B*Wf, 2H] = re | im after the inverse along H
    const rows = tf.reshape(tf.transpose(tf.reshape(z, [batch, wf, 2, h]), [0, 3, 2, 1]), [batch * h, 2 * wf]);
    return tf.reshape(tf.matMul(rows, alongW), [...lead, h, w]);
  });
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
