import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { createRng, subSeed } from '../dream/random.js';
import { type LoadedModel } from '../model/load.js';
import { checkClassChoice, chooseClasses, classLabel, type ClassChoice } from './classes.js';
import { inputGradientPass, scorePass } from './forward.js';
import { type AttributionMap } from './map.js';
import { adaptiveTrapezoid, quadrature, QUADRATURES, type Quadrature } from './quadrature.js';
import { readBack } from '../backend/read-back.js';

/**
 * Gradient saliency: maps at the input's resolution from the gradient of a class's
 * pre-softmax score with respect to the picture.
 *  - vanilla (Simonyan et al. 2014): max over colour channels of |g|;
 *  - smoothgrad (Smilkov et al. 2017): g averaged over `samples` copies with Gaussian noise
 *    of standard deviation `noise` times the input range (seeded: the same noise on every backend), then max over channels of |.|;
 *  - integrated-gradients (Sundararajan et al. 2017): (x - x') times the path integral of g
 *    from the baseline x' to x with `steps` gradient evaluations, by default placed
 *    adaptively (quadrature.ts, adaptiveTrapezoid: where the score's rise along the path
 *    disagrees most with the gradients'), or by a fixed rule (Gauss-Legendre is Captum's
 *    default); the map is the attribution summed over channels (signed), so it sums to about
 *    f(x) - f(x') (completeness; `detail` gives both);
 *  - gradxinput (Shrikumar et al. 2016): x * g summed over channels (signed);
 *  - guided (Springenberg et al. 2015): guided backprop's g (ReLUs pass only positive
 *    gradient where active; dream/overrides/guided.ts), max over channels of |g|.
 */

export const SALIENCY_METHODS = ['vanilla', 'smoothgrad', 'integrated-gradients', 'gradxinput', 'guided'] as const;
export type SaliencyMethod = (typeof SALIENCY_METHODS)[number];
export const BASELINES = ['black', 'blur', 'noise'] as const;
export type Baseline = (typeof BASELINES)[number];

export const SALIENCY_DEFAULTS = { samples: 50, noise: 0.15, steps: 64, baseline: 'black' as Baseline, quadrature: 'adaptive' as Quadrature, batch: 16, seed: 0 };

export interface SaliencyOptions extends ClassChoice {
  method?: SaliencyMethod;
  /** SmoothGrad: noisy copies (50). */
  samples?: number;
  /** SmoothGrad: the noise's standard deviation as a fraction of the input range (0.15). */
  noise?: number;
  /** Integrated Gradients: quadrature nodes (64). */
  steps?: number;
  /** Integrated Gradients: the picture it integrates from (black). */
  baseline?: Baseline;
  /** Integrated Gradients: the quadrature rule along the path (adaptive). */
  quadrature?: Quadrature;
  /** Pictures per forward pass (16). */
  batch?: number;
  /** Seed of SmoothGrad's noise and the noise baseline (0). */
  seed?: number;
}

export interface Saliency {
  method: SaliencyMethod;
  /** One map per chosen class for the image x [1, h, w, c] in the model's input range. */
  explain(x: tf.Tensor4D): AttributionMap[];
}

function checkSaliencyOptions(opts: SaliencyOptions): SaliencyMethod {
  const method = opts.method ?? 'vanilla';
  if (!(SALIENCY_METHODS as readonly string[]).includes(method)) throw new UsageError(`unknown saliency method '${method}': use ${SALIENCY_METHODS.join(', ')}`);
  if (opts.baseline !== undefined && !(BASELINES as readonly string[]).includes(opts.baseline)) throw new UsageError(`unknown baseline '${opts.baseline}': use ${BASELINES.join(', ')}`);
  for (const [name, v] of [['samples', opts.samples], ['steps', opts.steps], ['batch', opts.batch]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UsageError(`--${name} ${v}: give a whole number of at least 1`);
  }
  if (opts.quadrature !== undefined && !(QUADRATURES as readonly string[]).includes(opts.quadrature)) throw new UsageError(`unknown quadrature '${opts.quadrature}': use ${QUADRATURES.join(', ')}`);
  if (opts.noise !== undefined && !(opts.noise >= 0)) throw new UsageError(`--noise ${opts.noise}: give a fraction of the input range of at least 0`);
  return method as SaliencyMethod;
}

/** The baseline picture of Integrated Gradients for x, in the model's input range. */
export function baselineOf(x: tf.Tensor4D, kind: Baseline, range: [number, number], seed = 0): tf.Tensor4D {
  const [lo, hi] = range;
  return tf.tidy(() => {
    if (kind === 'black') return tf.fill(x.shape, lo) as tf.Tensor4D;
    if (kind === 'noise') {
      const rng = createRng(subSeed(seed, 1));
      return tf.tensor4d(Float32Array.from({ length: x.size }, () => lo + (hi - lo) * rng.next()), x.shape);
    }
    // Blurred beyond recognition: means over cells of 1/16 of the side, smoothly interpolated back.
    const [, h, w] = x.shape;
    const cell = Math.max(1, Math.round(Math.max(h, w) / 16));
    const small = tf.avgPool(x, cell, cell, 'same');
    return tf.image.resizeBilinear(small, [h, w], false, true) as tf.Tensor4D;
  });
}

/** Sum over the colour axis [1, h, w, c] → h*w values, or max of |.| when `abs`. */
function perPixel(t: tf.Tensor4D, abs: boolean): Float32Array {
  return readBack(() => (abs ? t.abs().max(3) : t.sum(3))) as Float32Array;
}

/** Build a saliency explainer: checks the method, options and class choice (UsageError) before any image. */
export function createSaliency(loaded: LoadedModel, opts: SaliencyOptions = {}): Saliency {
  const method = checkSaliencyOptions(opts);
  checkClassChoice(loaded, opts);
  const o = { ...SALIENCY_DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof SALIENCY_DEFAULTS & SaliencyOptions;
  const grad = inputGradientPass(loaded, method === 'guided' ? 'guided' : 'true');
  const scores = scorePass(loaded);
  const range = loaded.meta.inputRange;

  /** Σ_i weight_i · gradient at inputs_i, in batches; inputs(i) builds the i-th picture [1, h, w, c]. */
  const weightedGradientSum = (count: number, input: (i: number) => tf.Tensor4D, weight: (i: number) => number, cls: number): tf.Tensor4D => {
    let total: tf.Tensor4D | undefined;
    for (let start = 0; start < count; start += o.batch) {
      const n = Math.min(o.batch, count - start);
      const next = tf.tidy(() => {
        const xs = tf.concat(Array.from({ length: n }, (_, j) => input(start + j))) as tf.Tensor4D;
        const { gradients, scores: s } = grad(xs, cls);
        s.dispose();
        const w = tf.tensor1d(Array.from({ length: n }, (_, j) => weight(start + j))).reshape([n, 1, 1, 1]);
        const sum = gradients.mul(w).sum(0, true) as tf.Tensor4D;
        return total ? total.add(sum) : sum;
      });
      total?.dispose();
      total = next as tf.Tensor4D;
    }
    return total!;
  };

  /**
   * ∫₀¹ g(along(α)) dα by the adaptive trapezoid rule: each pass's gradients are kept until
   * the rule has placed every node and knows the weights (a bisection changes its ends'
   * weights). The integrand it steers by is g · (x − x′) summed, whose primitive is the score.
   */
  const adaptiveIntegral = (along: (alpha: number) => tf.Tensor4D, diff: tf.Tensor4D, cls: number): tf.Tensor4D => {
    const kept = new Map<number, tf.Tensor4D>();
    try {
      const { nodes, weights } = adaptiveTrapezoid(o.steps, (points) => {
        const values: number[] = [];
        const primitive: number[] = [];
        for (let start = 0; start < points.length; start += o.batch) {
          const chunk = points.slice(start, start + o.batch);
          const [h, s] = tf.tidy(() => {
            const { gradients, scores: sc } = grad(tf.concat(chunk.map(along)) as tf.Tensor4D, cls);
            chunk.forEach((alpha, j) => kept.set(alpha, tf.keep(gradients.slice([j], [1])) as tf.Tensor4D));
            const scoresAt = sc.dataSync();
            sc.dispose(); // kept by the pass (forward.ts), so not the tidy's to free
            return [gradients.mul(diff).sum([1, 2, 3]).dataSync(), scoresAt];
          });
          values.push(...h);
          primitive.push(...s);
        }
        return { values, primitive };
      });
      let total = tf.zerosLike(diff) as tf.Tensor4D;
      nodes.forEach((alpha, i) => {
        const next = tf.tidy(() => total.add(kept.get(alpha)!.mul(weights[i]))) as tf.Tensor4D;
        total.dispose();
        total = next;
      });
      return total;
    } finally {
      tf.dispose([...kept.values()]);
    }
  };

  const explainClass = (x: tf.Tensor4D, cls: number): { map: Float32Array; detail?: Record<string, number> } => {
    if (method === 'vanilla' || method === 'guided' || method === 'gradxinput') {
      const { gradients, scores: s } = grad(x, cls);
      s.dispose();
      const map = method === 'gradxinput' ? tf.tidy(() => perPixel(gradients.mul(x) as tf.Tensor4D, false)) : perPixel(gradients, true);
      gradients.dispose();
      return { map };
    }
    if (method === 'smoothgrad') {
      const sigma = o.noise * (range[1] - range[0]);
      const sum = weightedGradientSum(o.samples, (i) => x.add(tf.tensor4d(createRng(subSeed(o.seed, 2, i)).normal(x.size, 0, sigma), x.shape)) as tf.Tensor4D, () => 1 / o.samples, cls);
      const map = perPixel(sum, true);
      sum.dispose();
      return { map };
    }
    const base = baselineOf(x, o.baseline, range, o.seed);
    const diff = x.sub(base) as tf.Tensor4D;
    const along = (alpha: number) => base.add(diff.mul(alpha)) as tf.Tensor4D;
    let integral: tf.Tensor4D;
    if (o.quadrature === 'adaptive') {
      integral = adaptiveIntegral(along, diff, cls);
    } else {
      const { nodes, weights } = quadrature(o.quadrature, o.steps);
      integral = weightedGradientSum(nodes.length, (i) => along(nodes[i]), (i) => weights[i], cls);
    }
    const attributions = integral.mul(diff) as tf.Tensor4D;
    const map = perPixel(attributions, false);
    const [fx, fBase] = tf.tidy(() => Array.from(scores(tf.concat([x, base]) as tf.Tensor4D).slice([0, cls], [2, 1]).dataSync()));
    tf.dispose([base, diff, integral, attributions]);
    const sum = map.reduce((a, b) => a + b, 0);
    return { map, detail: { fx, fBaseline: fBase, attributionSum: sum } };
  };

  const explain = (x: tf.Tensor4D): AttributionMap[] => {
    const all = readBack(() => scores(x)) as Float32Array;
    const classes = chooseClasses(loaded, opts, all);
    const [, h, w] = x.shape;
    return classes.map((cls) => ({ ...explainClass(x, cls), width: w, height: h, class: cls, label: classLabel(loaded, cls), score: all[cls], method }));
  };
  return { method, explain };
}

/** One saliency map for the image x [1, h, w, c]: the first chosen class's. */
export function saliencyMap(loaded: LoadedModel, x: tf.Tensor4D, opts: SaliencyOptions = {}): AttributionMap {
  return createSaliency(loaded, opts).explain(x)[0];
}
