import * as tf from '@tensorflow/tfjs';

/**
 * TEMPORARY stand-in for src/backend/fft.ts (issue 3), used only until that lands: the same
 * two functions, written as dense half-spectrum DFT matrix products.
 */

/** numpy's fftfreq(n)[i]: 0, 1/n, ..., then the negative half. */
function fftfreq(i: number, n: number): number {
  return (i <= (n - 1) / 2 ? i : i - n) / n;
}

/** |f| for each bin of an [h, w/2+1] half spectrum, as Lucid's rfft2d_freqs. */
export function rfft2dFrequencies(h: number, w: number): Float32Array {
  const wf = Math.floor(w / 2) + 1;
  const out = new Float32Array(h * wf);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < wf; x++) out[y * wf + x] = Math.hypot(fftfreq(y, h), x / w);
  }
  return out;
}

/** Inverse real 2-D DFT over the last two axes: [..., h, w/2+1] (re, im) -> [..., h, w], scaled 1/(h w). */
export function irfft2d(re: tf.Tensor, im: tf.Tensor, width: number): tf.Tensor {
  return tf.tidy(() => {
    const shape = re.shape;
    const h = shape[shape.length - 2];
    const wf = shape[shape.length - 1];
    const lead = shape.slice(0, -2);
    const n = lead.reduce((a, b) => a * b, 1);
    const cy = new Float32Array(h * h);
    const sy = new Float32Array(h * h);
    for (let y = 0; y < h; y++) {
      for (let k = 0; k < h; k++) {
        const a = (2 * Math.PI * y * k) / h;
        cy[y * h + k] = Math.cos(a);
        sy[y * h + k] = Math.sin(a);
      }
    }
    const cx = new Float32Array(wf * width);
    const sx = new Float32Array(wf * width);
    for (let k = 0; k < wf; k++) {
      const weight = k === 0 || (width % 2 === 0 && k === width / 2) ? 1 : 2;
      for (let x = 0; x < width; x++) {
        const a = (2 * Math.PI * k * x) / width;
        cx[k * width + x] = (weight * Math.cos(a)) / (h * width);
        sx[k * width + x] = (-weight * Math.sin(a)) / (h * width);
      }
    }
    const toCols = (t: tf.Tensor) => t.reshape([n, h, wf]).transpose([1, 0, 2]).reshape([h, n * wf]);
    const xr = toCols(re);
    const xi = toCols(im);
    const Cy = tf.tensor2d(cy, [h, h]);
    const Sy = tf.tensor2d(sy, [h, h]);
    const zr = tf.sub(tf.matMul(Cy, xr), tf.matMul(Sy, xi));
    const zi = tf.add(tf.matMul(Sy, xr), tf.matMul(Cy, xi));
    const toRows = (t: tf.Tensor) => t.reshape([h, n, wf]).transpose([1, 0, 2]).reshape([n * h, wf]);
    const out = tf.add(tf.matMul(toRows(zr), tf.tensor2d(cx, [wf, width])), tf.matMul(toRows(zi), tf.tensor2d(sx, [wf, width])));
    return out.reshape([...lead, h, width]);
  });
}
