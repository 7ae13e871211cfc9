import tf = require('@tensorflow/tfjs');
import { IDENTITY, sampleGather, sampleScatter, type LinearMap } from '../backend/bilinear-sample.js';
import { type Rng } from './random.js';

/**
 * Transformation robustness (Lucid's `standard_transforms`). Each transform is pure geometry:
 * it says how big its output is and where each output pixel comes from in its input. The
 * whole chain, plus the resize to the model's input size, composes into one affine map that
 * is sampled once (bilinear), so an optimization step pays for one resampling, not five,
 * and the picture is blurred by one interpolation instead of a cascade of them.
 */

/** Output pixel (x, y) comes from input (a x + b y + c, d x + e y + f). */
export type Affine = [number, number, number, number, number, number];

export interface Placement {
  height: number;
  width: number;
  /** Output → input coordinates. */
  toSource: Affine;
}

export type Transform = (height: number, width: number, rng: Rng) => Placement;

const shift = (dx: number, dy: number): Affine => [1, 0, dx, 0, 1, dy];

/** Grow the canvas by `p` on every side; the new border reads as grey 0.5 (see `sampleAffine`). */
export const pad = (p: number): Transform => (h, w) => ({ height: h + 2 * p, width: w + 2 * p, toSource: shift(-p, -p) });

/** A random crop `d` pixels smaller on each axis: a shift by 0..d pixels (Lucid's `jitter`). */
export const jitter = (d: number): Transform => (h, w, rng) => ({ height: h - d, width: w - d, toSource: shift(rng.int(0, d), rng.int(0, d)) });

/** Resize by a factor picked from `scales` (Lucid's `random_scale`: size truncated to an integer). */
export const randomScale = (scales: readonly number[]): Transform => (h, w, rng) => {
  const s = rng.pick(scales);
  return resizeTo(Math.max(1, Math.floor(s * h)), Math.max(1, Math.floor(s * w)))(h, w, rng);
};

/** Rotate about the centre by an angle in degrees picked from `angles`. */
export const randomRotate = (angles: readonly number[]): Transform => (h, w, rng) => {
  const t = (rng.pick(angles) * Math.PI) / 180;
  const [cx, cy] = [(w - 1) / 2, (h - 1) / 2];
  const [cos, sin] = [Math.cos(t), Math.sin(t)];
  return { height: h, width: w, toSource: [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy] };
};

/** Bilinear resize with half-pixel centres, as tf.image.resizeBilinear does. */
export const resizeTo = (height: number, width: number): Transform => (h, w) => {
  const [sx, sy] = [w / width, h / height];
  return { height, width, toSource: [sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5] };
};

/** Lucid's standard transforms: pad 12, jitter 8, scale 0.90-1.10, rotate -10..10° (zero weighted 6x), jitter 4. */
export const SCALES = Array.from({ length: 11 }, (_, i) => 1 + (i - 5) / 50);
export const ANGLES = [...Array.from({ length: 21 }, (_, i) => i - 10), 0, 0, 0, 0, 0];
export function standardTransforms(): Transform[] {
  return [pad(12), jitter(8), randomScale(SCALES), randomRotate(ANGLES), jitter(4)];
}

export type TransformSet = 'standard' | 'none';
export const TRANSFORM_SETS: readonly TransformSet[] = ['standard', 'none'];
export const transformsFor = (set: TransformSet): Transform[] => (set === 'standard' ? standardTransforms() : []);

/** a ∘ b: apply b's map first (output side), then a's. */
function compose(a: Affine, b: Affine): Affine {
  return [
    a[0] * b[0] + a[1] * b[3],
    a[0] * b[1] + a[1] * b[4],
    a[0] * b[2] + a[1] * b[5] + a[2],
    a[3] * b[0] + a[4] * b[3],
    a[3] * b[1] + a[4] * b[4],
    a[3] * b[2] + a[4] * b[5] + a[5],
  ];
}

/** Run a chain of transforms on an h×w canvas: final size and the single output→source map. */
export function placeChain(chain: Transform[], height: number, width: number, rng: Rng): Placement {
  let placed: Placement = { height, width, toSource: [1, 0, 0, 0, 1, 0] };
  for (const t of chain) {
    const next = t(placed.height, placed.width, rng);
    placed = { height: next.height, width: next.width, toSource: compose(placed.toSource, next.toSource) };
  }
  return placed;
}

/**
 * Where each output pixel of a placement reads from: four source pixels (y * W + x) and
 * their bilinear weights, four planes of n = oh * ow entries, then a fifth plane: the weight
 * of the grey outside, which takes the place of any tap that falls outside the picture.
 */
function bilinearTaps(H: number, W: number, placed: Placement): { index: Int32Array; weight: Float32Array } {
  const { height: oh, width: ow, toSource: m } = placed;
  const n = oh * ow;
  // Coordinates are clamped into the source framed by one grey pixel, so a point far outside
  // reads pure grey and a point near the edge blends the edge with grey.
  const [PH, PW] = [H + 2, W + 2];
  const [m0, m1, m2, m3, m4, m5] = m;
  const index = new Int32Array(4 * n);
  const weight = new Float32Array(5 * n);
  // Written out per tap, not through a helper: this runs for every output pixel of every step.
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const i = y * ow + x;
      const sx = Math.min(Math.max(m0 * x + m1 * y + m2 + 1, 0), PW - 1);
      const sy = Math.min(Math.max(m3 * x + m4 * y + m5 + 1, 0), PH - 1);
      const x0 = Math.min(Math.floor(sx), PW - 2);
      const y0 = Math.min(Math.floor(sy), PH - 2);
      const fx = sx - x0;
      const fy = sy - y0;
      const w0 = (1 - fx) * (1 - fy), w1 = fx * (1 - fy), w2 = (1 - fx) * fy, w3 = fx * fy;
      // Framed-source pixel (py, px) is source pixel (py - 1, px - 1) when inside it.
      const left = x0 >= 1 && x0 <= W, right = x0 + 1 >= 1 && x0 + 1 <= W;
      const top = y0 >= 1 && y0 <= H, bottom = y0 + 1 >= 1 && y0 + 1 <= H;
      const at = (y0 - 1) * W + (x0 - 1);
      // A tap outside gives its weight to the grey, summed in float32 as the weight plane holds it.
      let grey = 0;
      if (top && left) {
        index[i] = at;
        weight[i] = w0;
      } else grey = Math.fround(grey + w0);
      if (top && right) {
        index[n + i] = at + 1;
        weight[n + i] = w1;
      } else grey = Math.fround(grey + w1);
      if (bottom && left) {
        index[2 * n + i] = at + W;
        weight[2 * n + i] = w2;
      } else grey = Math.fround(grey + w2);
      if (bottom && right) {
        index[3 * n + i] = at + W + 1;
        weight[3 * n + i] = w3;
      } else grey = Math.fround(grey + w3);
      weight[4 * n + i] = grey;
    }
  }
  return { index, weight };
}

/**
 * Bilinear sampling of `image` [B, H, W, C] at an affine map, differentiable in `image`.
 * Points outside the image read grey 0.5 (Lucid pads with 0.5); the gradient is the exact
 * adjoint (a scatter-add of the same taps). The whole batch shares one set of taps
 * (backend/bilinear-sample.ts). The samples' values are mapped by `map` on the way (into the
 * model's input range: see `mapValues`), in the same pass.
 */
export function sampleAffine(image: tf.Tensor4D, placed: Placement, map: LinearMap = IDENTITY): tf.Tensor4D {
  const [B, H, W, C] = image.shape;
  const { height: oh, width: ow } = placed;
  const taps = bilinearTaps(H, W, placed);
  const sample = tf.customGrad(((x: tf.Tensor4D, save: tf.GradSaveFunc) => {
    const t = { index: tf.tensor1d(taps.index, 'int32'), weight: tf.tensor1d(taps.weight) };
    save([t.index, t.weight]);
    const value = tf.reshape(sampleGather(tf.reshape(x, [B, H * W, C]), t, 0.5, map), [B, oh, ow, C]) as tf.Tensor4D;
    const gradFunc = (dy: tf.Tensor | tf.Tensor[], [index, weight]: tf.Tensor[]) => {
      const dsrc = sampleScatter(tf.reshape(dy as tf.Tensor, [B, oh * ow, C]), { index: index as tf.Tensor1D, weight: weight as tf.Tensor1D }, H * W, map.scale);
      return tf.reshape(dsrc, [B, H, W, C]) as tf.Tensor4D;
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return sample(image) as tf.Tensor4D;
}

/** image * map.scale + map.offset: a [0, 1] picture in the model's input range, as tf ops (what sampleAffine's map does). */
export function mapValues(image: tf.Tensor4D, { scale, offset }: LinearMap): tf.Tensor4D {
  return tf.tidy(() => image.mul(scale).add(offset) as tf.Tensor4D);
}

/** The image as the network sees it this step: transformed (random draws from `rng`), sized, and its values mapped by `map`. */
export function transformImage(image: tf.Tensor4D, chain: Transform[], rng: Rng, modelSize?: [number, number], map: LinearMap = IDENTITY): tf.Tensor4D {
  const [, H, W] = image.shape;
  const steps = modelSize ? [...chain, resizeTo(modelSize[0], modelSize[1])] : chain;
  const unchanged = chain.length === 0 && (!modelSize || (modelSize[0] === H && modelSize[1] === W));
  if (unchanged) return mapValues(image, map);
  return sampleAffine(image, placeChain(steps, H, W, rng), map);
}
