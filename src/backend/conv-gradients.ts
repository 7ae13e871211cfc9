import tf = require('@tensorflow/tfjs');
import { derivedWeight } from './derived-weights.js';
import { zeroDilate } from './zero-dilate.js';

/**
 * Convolution gradients written as forward convolutions, so that they run on the backend's
 * fast forward kernels (XNNPACK on wasm) instead of element loops. All tensors are NHWC;
 * filters are [kh, kw, in, out] (conv2d) or [kh, kw, channels, multiplier] (depthwise).
 */

export type ConvPad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

export interface ConvGeometry {
  strides: [number, number] | number;
  dilations?: [number, number] | number;
  pad: ConvPad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

type Pair = [number, number];
const pair = (v: [number, number] | number | undefined): Pair => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);

function convInfo(xShape: number[], filterShape: number[], g: ConvGeometry, depthwise: boolean): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    pair(g.strides),
    pair(g.dilations),
    g.pad,
    g.dimRoundingMode,
    depthwise,
  );
}

/**
 * Crop (negative amounts) and pad (positive amounts) rows and columns of an NHWC tensor.
 * Padding is returned rather than applied, so the convolution that follows can take it as
 * its explicit padding for free.
 */
function cropForPadding(t: tf.Tensor4D, rows: Pair, cols: Pair): { t: tf.Tensor4D; pad: tf.backend_util.ExplicitPadding } {
  const [n, h, w, c] = t.shape;
  const top = Math.max(0, -rows[0]);
  const bottom = Math.max(0, -rows[1]);
  const left = Math.max(0, -cols[0]);
  const right = Math.max(0, -cols[1]);
  if (top || bottom || left || right) t = tf.slice(t, [0, top, left, 0], [n, h - top - bottom, w - left - right, c]);
  const pad: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [Math.max(0, rows[0]), Math.max(0, rows[1])],
    [Math.max(0, cols[0]), Math.max(0, cols[1])],
    [0, 0],
  ];
  return { t, pad };
}

/**
 * The padding that turns the backward pass into a stride-1 correlation over the
 * zero-dilated output gradient, whose length along this axis is `len * stride`.
 */
function backwardPad(inLen: number, outLen: number, stride: number, k: number, dilation: number, padBefore: number): Pair {
  const effective = (k - 1) * dilation + 1;
  const before = effective - 1 - padBefore;
  // Rows needed: inLen + effective - 1; rows present: outLen * stride.
  const after = inLen + effective - 1 - before - outLen * stride;
  return [before, after];
}

/**
 * How output row s*q + r of a strided backward pass reads dy: rows q + cmin + u through
 * the phase's taps. Phase r uses filter taps t0 + s*i of the flipped filter, which start
 * `shift` rows into a common window of `length` rows.
 */
interface Phases {
  cmin: number;
  length: number;
  taps: Array<{ t0: number; count: number; shift: number }>;
}

function phases(stride: number, k: number, before: number): Phases {
  const raw = [];
  for (let r = 0; r < stride; r++) {
    const t0 = (((before - r) % stride) + stride) % stride;
    const count = t0 < k ? Math.ceil((k - t0) / stride) : 0;
    raw.push({ t0, count, c: (r + t0 - before) / stride });
  }
  const used = raw.filter((p) => p.count > 0);
  const cmin = Math.min(...used.map((p) => p.c));
  const length = Math.max(...used.map((p) => p.c - cmin + p.count));
  return { cmin, length, taps: raw.map((p) => ({ t0: p.t0, count: p.count, shift: p.c - cmin })) };
}

/**
 * The strided input gradient without the zero-dilated dy (s*s times the work, most of it
 * on zeros): one stride-1 conv of dy computes every output phase at once, phases as output
 * channels, which a transpose then interleaves. The per-phase filter is gathered once.
 */
function stridedInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w } = info;
  const [ci, co] = [filter.shape[2], filter.shape[3]];
  const rows = phases(sh, kh, kh - 1 - info.padInfo.top);
  const cols = phases(sw, kw, kw - 1 - info.padInfo.left);
  const recipe = `conv2d-phases:${sh},${sw},${rows.cmin},${cols.cmin},${rows.length},${cols.length},${info.padInfo.top},${info.padInfo.left}`;
  const weights = derivedWeight(filter, recipe, (f) => {
    const src = f.dataSync();
    const out = new Float32Array(rows.length * cols.length * co * sh * sw * ci);
    for (let rh = 0; rh < sh; rh++) {
      const ph = rows.taps[rh];
      for (let i = 0; i < ph.count; i++) {
        const uh = ph.shift + i;
        const fy = kh - 1 - (ph.t0 + sh * i); // the flipped filter's tap, read unflipped
        for (let rw = 0; rw < sw; rw++) {
          const pw = cols.taps[rw];
          for (let j = 0; j < pw.count; j++) {
            const uw = pw.shift + j;
            const fx = kw - 1 - (pw.t0 + sw * j);
            for (let o = 0; o < co; o++) {
              const dst = (((uh * cols.length + uw) * co + o) * sh * sw + rh * sw + rw) * ci;
              for (let c = 0; c < ci; c++) out[dst + c] = src[((fy * kw + fx) * ci + c) * co + o];
            }
          }
        }
      }
    }
    return tf.tensor4d(out, [rows.length, cols.length, co, sh * sw * ci]);
  }) as tf.Tensor4D;
  const qh = Math.ceil(h / sh);
  const qw = Math.ceil(w / sw);
  const before: Pair = [-rows.cmin, -cols.cmin];
  const { t, pad } = cropForPadding(
    dy,
    [before[0], qh + rows.length - 1 - info.outHeight - before[0]],
    [before[1], qw + cols.length - 1 - info.outWidth - before[1]],
  );
  const all = tf.conv2d(t, weights, 1, pad);
  const [n] = all.shape;
  // Not tf.depthToSpace: wasm's is a scalar loop, 4x slower than this transpose.
  const spread = tf.reshape(tf.transpose(tf.reshape(all, [n, qh, qw, sh, sw, ci]), [0, 1, 3, 2, 4, 5]), [n, qh * sh, qw * sw, ci]);
  return qh * sh === h && qw * sw === w ? (spread as tf.Tensor4D) : tf.slice(spread as tf.Tensor4D, [0, 0, 0, 0], [n, h, w, ci]);
}

/**
 * A strided 1×1 conv (ResNet's downsampling and projection convs): only one output phase of
 * s*s is non-zero, so a 1×1 conv of dy with the transposed filter, spread out with zeros, is
 * the whole gradient (the phases path would compute all s*s phases, s*s times the work).
 */
function pointwiseStridedInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const transposed = derivedWeight(filter, 'conv2d-1x1-transpose', (f) => tf.transpose(f, [0, 1, 3, 2])) as tf.Tensor4D;
  const spread = zeroDilate(tf.conv2d(dy, transposed, 1, 'valid'), [info.strideHeight, info.strideWidth]);
  const [n, sh, sw, ci] = spread.shape;
  const [h, w] = [info.inHeight, info.inWidth];
  const cropped = sh > h || sw > w ? tf.slice(spread, [0, 0, 0, 0], [n, Math.min(sh, h), Math.min(sw, w), ci]) : spread;
  return sh < h || sw < w ? tf.pad(cropped, [[0, 0], [0, Math.max(0, h - sh)], [0, Math.max(0, w - sw)], [0, 0]]) : cropped;
}

/** dL/dx of conv2d(x, filter) from dL/dy, as a conv2d of dy with the flipped, transposed filter. */
export function conv2dInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: number[], g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(inputShape, filter.shape, g, false);
    const strided = info.strideHeight > 1 || info.strideWidth > 1;
    if (strided && info.filterHeight === 1 && info.filterWidth === 1 && info.padInfo.top === 0 && info.padInfo.left === 0) return pointwiseStridedInputGradient(dy, filter, info);
    if (strided && info.dilationHeight === 1 && info.dilationWidth === 1) return stridedInputGradient(dy, filter, info);
    const flipped = derivedWeight(filter, 'conv2d-flip', (f) => tf.transpose(tf.reverse(f, [0, 1]), [0, 1, 3, 2])) as tf.Tensor4D;
    const spread = zeroDilate(dy, [info.strideHeight, info.strideWidth]);
    const rows = backwardPad(info.inHeight, info.outHeight, info.strideHeight, info.filterHeight, info.dilationHeight, info.padInfo.top);
    const cols = backwardPad(info.inWidth, info.outWidth, info.strideWidth, info.filterWidth, info.dilationWidth, info.padInfo.left);
    const { t, pad } = cropForPadding(spread, rows, cols);
    return tf.conv2d(t, flipped, 1, pad, 'NHWC', [info.dilationHeight, info.dilationWidth]);
  });
}

/**
 * dL/dfilter of conv2d(x, filter): the correlation of x with dy, computed as one conv2d in
 * which the batch and channel axes trade places (x's channels become the batch, dy acts as
 * the filter, the forward stride becomes the dilation and vice versa).
 */
export function conv2dFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x.shape, filterShape, g, false);
    const [kh, kw] = filterShape;
    const [n] = x.shape;
    const xT = tf.transpose(x, [3, 1, 2, 0]); // [Ci, H, W, N]
    const dyT = n === 1 ? tf.reshape(dy, [dy.shape[1], dy.shape[2], 1, dy.shape[3]]) : tf.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, Co]
    const rows = filterGradPad(info.inHeight, info.outHeight, info.strideHeight, kh, info.dilationHeight, info.padInfo.top);
    const cols = filterGradPad(info.inWidth, info.outWidth, info.strideWidth, kw, info.dilationWidth, info.padInfo.left);
    const { t, pad } = cropForPadding(xT as tf.Tensor4D, rows, cols);
    const out = tf.conv2d(t, dyT as tf.Tensor4D, [info.dilationHeight, info.dilationWidth], pad, 'NHWC', [info.strideHeight, info.strideWidth]);
    return tf.transpose(out, [1, 2, 0, 3]); // [Ci, kh, kw, Co] -> [kh, kw, Ci, Co]
  });
}

/** Padding of x so that sliding dy (dilated by the stride) over it yields exactly k taps. */
function filterGradPad(inLen: number, outLen: number, stride: number, k: number, dilation: number, padBefore: number): Pair {
  const span = (outLen - 1) * stride + 1;
  return [padBefore, (k - 1) * dilation + span - inLen - padBefore];
}

/** dL/dx of depthwiseConv2d: a depthwise conv of dy with the flipped filter, summed over the multiplier. */
export function depthwiseInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: number[], g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(inputShape, filter.shape, g, true);
    const [kh, kw, c, m] = filter.shape;
    const flipped = derivedWeight(filter, 'depthwise-flip', (f) => tf.reshape(tf.reverse(f, [0, 1]), [kh, kw, c * m, 1])) as tf.Tensor4D;
    const spread = zeroDilate(dy, [info.strideHeight, info.strideWidth]);
    const rows = backwardPad(info.inHeight, info.outHeight, info.strideHeight, kh, info.dilationHeight, info.padInfo.top);
    const cols = backwardPad(info.inWidth, info.outWidth, info.strideWidth, kw, info.dilationWidth, info.padInfo.left);
    const { t, pad } = cropForPadding(spread, rows, cols);
    const dx = tf.depthwiseConv2d(t, flipped, 1, pad, 'NHWC', [info.dilationHeight, info.dilationWidth]);
    if (m === 1) return dx;
    const [n, h, w] = dx.shape;
    return tf.sum(tf.reshape(dx, [n, h, w, c, m]), 4);
  });
}

/**
 * dL/dfilter of depthwiseConv2d: for each tap, the per-channel dot product of the shifted
 * input window with dy. kh*kw strided slices, each one multiply and one reduction.
 */
export function depthwiseFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x.shape, filterShape, g, true);
    const [kh, kw, c, m] = filterShape;
    const [n] = x.shape;
    const { outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const rows = filterGradPad(info.inHeight, ho, sh, kh, dh, info.padInfo.top);
    const cols = filterGradPad(info.inWidth, wo, sw, kw, dw, info.padInfo.left);
    const { t, pad } = cropForPadding(x, rows, cols);
    const xp = pad.some(([a, b]) => a || b) ? tf.pad(t, pad) : t;
    const dy5 = m === 1 ? dy : tf.reshape(dy, [n, ho, wo, c, m]);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const window = tf.stridedSlice(xp, [0, i * dh, j * dw, 0], [n, i * dh + (ho - 1) * sh + 1, j * dw + (wo - 1) * sw + 1, c], [1, sh, sw, 1]);
        const prod = m === 1 ? tf.mul(window, dy5) : tf.mul(tf.expandDims(window, 4), dy5);
        taps.push(tf.sum(prod, [0, 1, 2]));
      }
    }
    return tf.reshape(tf.stack(taps), [kh, kw, c, m]);
  });
}
