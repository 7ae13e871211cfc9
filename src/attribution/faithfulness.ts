import { createRng, subSeed } from '../dream/random.js';
import { type Pixels } from './baselines.js';
import { noisyLinearImpute } from './impute.js';

/**
 * Faithfulness of attribution maps: does removing what a map calls relevant change the
 * prediction? The score read at every point is the explained class's **probability**
 * (softmax, or the sigmoid of a one-unit head), as in RISE.
 *  - deletion (RISE, Petsiuk et al. 2018): pixels are set to grey (the middle of the input range,
 *    as RISE's code sets them to zero in its mean-centred input) most relevant first, in `steps` equal steps; the area under the probability curve
 *    over the removed fraction 0..1 (trapezoid). Lower is better.
 *  - insertion (RISE): from a blurred copy of the photo (Gaussian, sigma 5 px, 11 taps, as
 *    RISE's code), the photo's own pixels are put back most relevant first. Higher is better.
 *  - ROAD (Rong et al. 2022) most-relevant-first (MoRF, lower is better) and least-relevant-
 *    first (LeRF, higher is better): the given fractions of pixels (10 %..90 %) are removed and
 *    filled by noisy linear imputation (impute.ts); the mean probability over the fractions.
 * Every perturbed image of every map of a photo goes through the model in shared batches.
 * Ties in a map (a CAM's flat zero region) are broken in one seeded random order per photo,
 * never by raster position, which would delete the top rows first.
 */

export const METRICS = ['deletion', 'insertion', 'roadMorf', 'roadLerf'] as const;
export type Metric = (typeof METRICS)[number];
/** For each metric, whether a faithful map scores higher (true) or lower. */
export const HIGHER_IS_BETTER: Record<Metric, boolean> = { deletion: false, insertion: true, roadMorf: false, roadLerf: true };

export type MetricScores = Record<Metric, number>;
/** Each metric's curve: probability per point (deletion and insertion at fractions 0, 1/steps, ..., 1; ROAD at its fractions). */
export type MetricCurves = Record<Metric, number[]>;

export interface FaithfulnessOptions {
  /** The model's input range [lo, hi]; deletion fills with its middle (grey). */
  range: [number, number];
  /** Deletion/insertion steps: the curves have steps + 1 points (default 16). */
  steps?: number;
  /** ROAD's removed fractions (default 0.1, 0.2, ..., 0.9). */
  roadFractions?: readonly number[];
  /** Images per model call (default 16). */
  batch?: number;
  /** Seeds the tie order and ROAD's noise (default 0). */
  seed?: number;
  /** ROAD's noise: standard deviation as a fraction of the input range (default 0.0025, ROAD's 0.01 in ImageNet-normalised units). */
  noise?: number;
  /** Imputation sweeps on the finest level (impute.ts; default 3). */
  sweeps?: number;
}

export const FAITHFULNESS_DEFAULTS = { steps: 16, roadFractions: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], batch: 16, seed: 0, noise: 0.0025, sweeps: 3 };

/** The class probability of each of `count` images laid end to end in `images` (each the photo's size). */
export type ProbabilityFn = (images: Float32Array, count: number) => ArrayLike<number>;

export interface Faithfulness {
  /** The unperturbed photo's probability. */
  probability: number;
  /** Per map, in the order given. */
  scores: MetricScores[];
  curves: MetricCurves[];
}

/** Pixel indices from most to least relevant; ties in the order `tie` gives. */
export function relevanceOrder(map: Float32Array, tie: Float32Array): Uint32Array {
  const order = new Uint32Array(map.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => map[b] - map[a] || tie[a] - tie[b]);
}

/** Separable Gaussian blur with edges replicated. */
export function gaussianBlur(img: Pixels, sigma = 5, taps = 11): Float32Array {
  const { width: w, height: h, channels: c, data } = img;
  const r = taps >> 1;
  const kernel = Array.from({ length: taps }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((a, b) => a + b, 0);
  const k = Float32Array.from(kernel, (v) => v / total);
  // One pass along lines of `n` samples `step` apart, `lines` of them starting `lineStep` apart.
  const pass = (src: Float32Array, n: number, step: number, lines: number, lineStep: number) => {
    const out = new Float32Array(src.length);
    const clamped = Int32Array.from({ length: n * taps }, (_, i) => Math.min(n - 1, Math.max(0, Math.floor(i / taps) + (i % taps) - r)) * step);
    for (let line = 0; line < lines; line++) {
      for (let ch = 0; ch < c; ch++) {
        const base = line * lineStep + ch;
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let t = 0; t < taps; t++) s += k[t] * src[base + clamped[i * taps + t]];
          out[base + i * step] = s;
        }
      }
    }
    return out;
  };
  return pass(pass(data, w, c, h, w * c), h, w * c, w, c);
}

/** Trapezoid area under evenly spaced points over [0, 1]. */
export function curveArea(points: readonly number[]): number {
  const n = points.length - 1;
  let s = 0;
  for (let i = 0; i < n; i++) s += (points[i] + points[i + 1]) / 2;
  return s / n;
}

/** One perturbed image to score: how to draw it, and where its probability goes. */
interface Probe {
  fill(out: Float32Array): void;
  put(p: number): void;
}

/** Deletion, insertion and ROAD scores of each map (height * width, larger = more relevant) for the photo. */
export function faithfulness(img: Pixels, maps: readonly Float32Array[], probability: ProbabilityFn, opts: FaithfulnessOptions): Faithfulness {
  const d = FAITHFULNESS_DEFAULTS;
  const o = { steps: opts.steps ?? d.steps, roadFractions: opts.roadFractions ?? d.roadFractions, batch: opts.batch ?? d.batch, seed: opts.seed ?? d.seed, noise: opts.noise ?? d.noise, sweeps: opts.sweeps ?? d.sweeps };
  const { width, height, channels: c, data } = img;
  const P = width * height;
  const size = P * c;
  const [lo, hi] = opts.range;
  const grey = (lo + hi) / 2;
  const tie = Float32Array.from({ length: P }, createRng(subSeed(o.seed, 1)).next);
  const noise = createRng(subSeed(o.seed, 2)).normal(size, 0, o.noise * (hi - lo));
  const blurred = gaussianBlur(img);
  const count = (f: number) => Math.round(f * P);
  const curves: MetricCurves[] = maps.map(() => ({ deletion: new Array(o.steps + 1), insertion: new Array(o.steps + 1), roadMorf: new Array(o.roadFractions.length), roadLerf: new Array(o.roadFractions.length) }));
  const probes: Probe[] = [];
  let original = 0;
  // The curves' shared ends: the photo itself, all grey, all blurred.
  probes.push({
    fill: (out) => out.set(data),
    put: (p) => {
      original = p;
      for (const cv of curves) cv.deletion[0] = cv.insertion[o.steps] = p;
    },
  });
  probes.push({ fill: (out) => out.fill(grey), put: (p) => curves.forEach((cv) => (cv.deletion[o.steps] = p)) });
  probes.push({ fill: (out) => out.set(blurred), put: (p) => curves.forEach((cv) => (cv.insertion[0] = p)) });
  maps.forEach((map, m) => {
    if (map.length !== P) throw new RangeError(`faithfulness: map ${m} has ${map.length} values for a ${width}x${height} image`);
    const order = relevanceOrder(map, tie);
    const cv = curves[m];
    // The deletion and insertion images grow step by step: each step changes only its new pixels.
    const deleted = Float32Array.from(data);
    const inserted = Float32Array.from(blurred);
    let changed = 0;
    const advance = (n: number) => {
      for (; changed < n; changed++) {
        const j = order[changed] * c;
        deleted.fill(grey, j, j + c);
        for (let q = j; q < j + c; q++) inserted[q] = data[q];
      }
    };
    for (let k = 1; k < o.steps; k++) {
      const n = count(k / o.steps);
      probes.push({
        fill: (out) => {
          advance(n);
          out.set(deleted);
        },
        put: (p) => (cv.deletion[k] = p),
      });
      probes.push({
        fill: (out) => {
          advance(n);
          out.set(inserted);
        },
        put: (p) => (cv.insertion[k] = p),
      });
    }
    o.roadFractions.forEach((f, k) => {
      const n = count(f);
      for (const morf of [true, false]) {
        probes.push({
          fill: (out) => {
            const removed = new Uint8Array(P);
            for (let i = 0; i < n; i++) removed[order[morf ? i : P - 1 - i]] = 1;
            noisyLinearImpute(img, removed, { out, noise, sweeps: o.sweeps });
          },
          put: (p) => ((morf ? cv.roadMorf : cv.roadLerf)[k] = p),
        });
      }
    });
  });
  const buffer = new Float32Array(Math.min(o.batch, probes.length) * size);
  for (let start = 0; start < probes.length; start += o.batch) {
    const n = Math.min(o.batch, probes.length - start);
    for (let i = 0; i < n; i++) probes[start + i].fill(buffer.subarray(i * size, (i + 1) * size));
    const probs = probability(n === o.batch ? buffer : buffer.subarray(0, n * size), n);
    for (let i = 0; i < n; i++) probes[start + i].put(probs[i]);
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return {
    probability: original,
    curves,
    scores: curves.map((cv) => ({ deletion: curveArea(cv.deletion), insertion: curveArea(cv.insertion), roadMorf: mean(cv.roadMorf), roadLerf: mean(cv.roadLerf) })),
  };
}
