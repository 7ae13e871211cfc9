import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { type LoadedModel } from '../model/load.js';
import { CAM_METHODS, createCam, type CamMethod } from './cam.js';
import { createCascade, type CascadeLayer } from './cascade.js';
import { checkClassChoice, chooseClasses, classLabel } from './classes.js';
import { scorePass } from './forward.js';
import { type AttributionMap } from './map.js';
import { createSaliency, SALIENCY_METHODS, type SaliencyMethod, type SaliencyOptions } from './saliency.js';
import { spearman } from './spearman.js';
import { readBack } from '../backend/read-back.js';

/**
 * The model parameter randomization test of Adebayo et al. 2018: each method's map of an
 * image under cascading randomization (cascade.ts), compared with its map under the trained
 * weights by Spearman's rank correlation of |map| (absolute values, as the paper does for
 * gradient maps; CAMs are non-negative already), at each map's own resolution. The class
 * explained is fixed by the trained model (its prediction, or `class`), so every step
 * explains the same class. A method whose maps stay correlated after the weights are gone
 * does not explain the model.
 */

export const SANITY_METHODS = [...CAM_METHODS, ...SALIENCY_METHODS] as const;
export type SanityMethod = (typeof SANITY_METHODS)[number];
export const SANITY_DEFAULT_METHODS: readonly SanityMethod[] = ['gradcam', 'vanilla', 'smoothgrad', 'guided'];

export interface SanityOptions extends Pick<SaliencyOptions, 'samples' | 'noise' | 'steps' | 'baseline'> {
  methods?: readonly string[];
  /** The class explained: an index or a label (default: the trained model's prediction for each image). */
  class?: string | number;
  /** The CAM methods' layer (default: cam's default). */
  layer?: string | number;
  /** The cascade steps to compute maps at, 0 being the trained model (default: stepsEvery(n, `every`)). */
  at?: readonly number[];
  /** Without `at`: maps at every `every`-th step, and the last (default 1: every step). */
  every?: number;
  /** Seed of the re-initialization and of SmoothGrad's noise (the same noise at every step). */
  seed?: number;
  /** Keep every map (for a picture); without it only the correlations are returned. */
  keepMaps?: boolean;
  /** Called after each step with the step and its index in `at` (progress). */
  onStep?: (step: number, done: number, total: number) => void;
}

export interface SanityImage {
  class: number;
  label: string;
  /** Spearman correlation with the trained model's map, [method][step] (1 at step 0, the untouched copy); NaN where a map is constant (no ranking). */
  correlations: number[][];
  /** [method][step] when `keepMaps`. */
  maps?: AttributionMap[][];
}

export interface SanityRun {
  methods: SanityMethod[];
  /** Every layer with weights, top first: step k has the first k re-initialized. */
  layers: CascadeLayer[];
  /** The steps computed. */
  steps: number[];
  images: SanityImage[];
}

/** Check method names (each bad one named with the valid ones), before any work. */
export function checkSanityMethods(methods: readonly string[]): SanityMethod[] {
  if (!methods.length) throw new UsageError(`no method given: use one or more of ${SANITY_METHODS.join(', ')}`);
  for (const m of methods) if (!(SANITY_METHODS as readonly string[]).includes(m)) throw new UsageError(`unknown method '${m}': use ${SANITY_METHODS.join(', ')}`);
  return [...new Set(methods)] as SanityMethod[];
}

/** Steps 0, k, 2k, … and the last of a cascade over `total` layers. */
export function stepsEvery(total: number, every: number): number[] {
  if (!Number.isInteger(every) || every < 1) throw new UsageError(`bad --every '${every}': expected an integer >= 1`);
  const steps = Array.from({ length: Math.floor(total / every) + 1 }, (_, i) => i * every);
  return steps[steps.length - 1] === total ? steps : [...steps, total];
}

/** The stride that shows about `columns` randomized columns of a cascade over `total` layers. */
export function autoEvery(total: number, columns = 8): number {
  return Math.max(1, Math.ceil(total / columns));
}

const isCam = (m: SanityMethod): m is CamMethod => (CAM_METHODS as readonly string[]).includes(m);

/** |map|: what the ranks are taken of. */
const magnitudes = (m: AttributionMap) => m.map.map(Math.abs);

/**
 * Run the cascade over the images x [1, h, w, c] (in the model's input range): at each step of
 * `at`, every method's map of every image, and its correlation with the step-0 map.
 */
export async function sanityCheck(loaded: LoadedModel, images: tf.Tensor4D[], opts: SanityOptions = {}): Promise<SanityRun> {
  const methods = checkSanityMethods(opts.methods ?? SANITY_DEFAULT_METHODS);
  if (opts.class !== undefined) checkClassChoice(loaded, { class: opts.class });
  const cascade = await createCascade(loaded, opts.seed ?? 0);
  try {
    const total = cascade.layers.length;
    const at = [...new Set([0, ...(opts.at ?? stepsEvery(total, opts.every ?? 1))])].sort((a, b) => a - b);
    const bad = at.find((k) => !Number.isInteger(k) || k < 0 || k > total);
    if (bad !== undefined) throw new UsageError(`step ${bad} out of range: the model has ${total} layers with weights (steps 0-${total})`);
    // The class of each image, by the trained model.
    const scores = scorePass(loaded);
    const classes = images.map((x) => chooseClasses(loaded, { class: opts.class }, readBack(() => scores(x)))[0]);
    const reference: Float32Array[][] = images.map(() => []);
    const results: SanityImage[] = images.map((_, i) => ({ class: classes[i], label: classLabel(loaded, classes[i]), correlations: methods.map(() => []), ...(opts.keepMaps ? { maps: methods.map(() => []) } : {}) }));
    const saliencyOpts = { samples: opts.samples, noise: opts.noise, steps: opts.steps, baseline: opts.baseline, seed: opts.seed };
    const explain = (model: LoadedModel, method: SanityMethod, x: tf.Tensor4D, cls: number): AttributionMap => {
      const explainer = isCam(method) ? createCam(model, { method, layer: opts.layer, class: cls }) : createSaliency(model, { method, ...saliencyOpts, class: cls });
      return explainer.explain(x)[0];
    };
    // The reference maps come from the user's model itself, so step 0 (the untouched copy) checks the copy.
    images.forEach((x, i) => methods.forEach((method) => reference[i].push(magnitudes(explain(loaded, method, x, classes[i])))));
    for (const [done, k] of at.entries()) {
      cascade.randomizeTop(k);
      images.forEach((x, i) => {
        methods.forEach((method, j) => {
          const map = explain(cascade.model, method, x, classes[i]);
          results[i].correlations[j].push(spearman(reference[i][j], magnitudes(map)));
          results[i].maps?.[j].push(map);
        });
      });
      opts.onStep?.(k, done + 1, at.length);
    }
    return { methods, layers: cascade.layers, steps: at, images: results };
  } finally {
    cascade.dispose();
  }
}

/** The median of the finite values (NaN when there are none). */
export function median(values: readonly number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}
