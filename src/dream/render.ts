import tf = require('@tensorflow/tfjs');
import { RuntimeError, UsageError } from '../errors.js';
import { type Raster } from '../image/raster.js';
import { type InputRange } from '../model/meta.js';
import { readKey, type Objective, type ObjectiveInputs } from './objectives/objective.js';
import { createImageParam, createKerasImage, decayPowerFor, type ImageParam, type ParamKind } from './param.js';
import { createRng, subSeed } from './random.js';
import { inputGradientsOnly } from '../backend/gradients.js';
import { mapValues, placeChain, resizeTo, sampleAffine, transformImage, transformsFor, type TransformSet } from './transforms.js';
import { type LinearMap } from '../backend/bilinear-sample.js';
import { type Probe } from './probe.js';
import { createOptimizer, type OptimizerKind } from './optimizers.js';
import { readBack } from '../backend/read-back.js';

export { OPTIMIZER_KINDS, type OptimizerKind } from './optimizers.js';

/**
 * What size the network sees the transformed picture at: `native` its own (the input opened
 * up, as Lucid renders), `fit` resized to the model's fixed input size (as Lucent renders).
 */
export type RenderScale = 'native' | 'fit';
export const RENDER_SCALES: readonly RenderScale[] = ['native', 'fit'];

/** Lucid redirects ReLU gradients for this many steps, then lets the true gradient take over. */
export const REDIRECT_STEPS = 16;

/** How a dream is rendered; what it maximizes is an Objective (objectives/), given beside it. */
export interface DreamSettings {
  param: ParamKind;
  decorrelate: boolean;
  transforms: TransformSet;
  optimizer: OptimizerKind;
  steps: number;
  lr: number;
  /** Side of the optimized image. */
  size: number;
  /** `native` needs a target that runs at any input size (see model/fixed-input.ts). */
  renderScale: RenderScale;
  seed: number;
  /** Keep every k-th step's picture (0: none). */
  frameEvery: number;
}

/** Lucid's defaults (the acceptance settings). */
export const DEFAULTS: DreamSettings = {
  param: 'fft',
  decorrelate: true,
  transforms: 'standard',
  optimizer: 'adam',
  steps: 512,
  lr: 0.05,
  size: 128,
  renderScale: 'native',
  seed: 0,
  frameEvery: 0,
};

/** The Keras example's algorithm ("Visualizing what convnets learn"), for side-by-side comparison. */
export const KERAS_BASELINE: Partial<DreamSettings> = { param: 'pixel', decorrelate: false, transforms: 'none', optimizer: 'sgd-l2', steps: 30, lr: 10 };

/** What the network needs to know about its input. */
export interface ModelInput {
  channels: number;
  range: InputRange;
  /** [h, w] when the model only takes one size. */
  fixedSize?: [number, number];
}

export interface DreamBatchResult {
  /** One picture per unit, size×size, in the model's channel count. */
  images: Raster[];
  /** Final objective per unit, scored on the untransformed picture. */
  objectives: number[];
  /** frames[f] = the unit pictures at the f-th kept step. */
  frames: Raster[][];
}

export type StepListener = (step: number, objectives: number[]) => void;

export function checkSettings(s: DreamSettings): void {
  if (s.optimizer === 'sgd-l2' && (s.param !== 'pixel' || s.decorrelate)) {
    throw new UsageError("--optimizer sgd-l2 is the Keras baseline on raw pixels: use it with --param pixel --no-decorrelate");
  }
}

/** [B, h, w, c] in [0, 1] to 8-bit rasters. */
export function toRasters(images: tf.Tensor4D): Raster[] {
  const [B, h, w, c] = images.shape;
  const bytes = readBack(() => images.mul(255).round().clipByValue(0, 255).cast('int32'));
  return Array.from({ length: B }, (_, b) => ({ data: Uint8Array.from(bytes.subarray(b * h * w * c, (b + 1) * h * w * c)), width: w, height: h, channels: c as Raster['channels'] }));
}

/** [0, 1] to the model's input range [lo, hi]: x (hi - lo) + lo. */
const rangeMap = ({ range: [lo, hi] }: ModelInput): LinearMap => ({ scale: hi - lo, offset: lo });

/** The picture in the model's own units, at its input size: what the network is fed. */
export function toModelInput(image: tf.Tensor4D, input: ModelInput): tf.Tensor4D {
  return mapValues(image, rangeMap(input));
}

/** The input as the network is fed at a render scale: native drops the resize to a fixed size. */
export function seenInput(input: ModelInput, scale: RenderScale): ModelInput {
  return scale === 'native' ? { ...input, fixedSize: undefined } : input;
}

/**
 * The pictures a batch optimizes. Picture i starts from noise seeded by `keys[i]` (with the
 * settings' seed), and `groups[i]` says which pictures are variations of one thing (what
 * diversity and alignment compare).
 */
export interface Pictures {
  keys: number[][];
  groups: number[];
}

/**
 * One picture per unit, or `copies` per unit side by side (--diversity): the first copy of a
 * unit keeps the key a lone picture of it has, so adding copies leaves it where it was.
 */
export function unitPictures(units: readonly number[], copies = 1): Pictures {
  const keys = units.flatMap((u) => Array.from({ length: copies }, (_, k) => (k === 0 ? [u] : [u, k])));
  return { keys, groups: units.flatMap((_, i) => Array<number>(copies).fill(i)) };
}

/** A row of `n` pictures of one objective (channel_interpolate), compared as one group. */
export function rowPictures(n: number): Pictures {
  return { keys: Array.from({ length: n }, (_, i) => [i]), groups: Array<number>(n).fill(0) };
}

/** The network as a render runs it: a probe computing the objective's reads, in their order. */
function evaluator(probe: Probe | undefined, objective: Objective, groups: readonly number[]) {
  const slot = new Map(objective.reads.map((r, i) => [readKey(r), i]));
  return (modelInput: tf.Tensor4D, image: tf.Tensor4D, redirect: boolean): tf.Tensor1D => {
    const outs = probe ? probe.apply(modelInput, { redirect }) : [];
    const inputs: ObjectiveInputs = {
      image,
      groups,
      read: (r) => {
        const i = slot.get(readKey(r));
        if (i === undefined) throw new Error(`objective ${objective.text} read ${readKey(r)}, which it did not list`);
        return outs[i];
      },
    };
    return objective.evaluate(inputs);
  };
}

/** Objective per picture for untransformed pictures, resized to `input.fixedSize` if set (at fit scale: see seenInput). */
export function scoreImages(probe: Probe | undefined, objective: Objective, input: ModelInput, groups: readonly number[], images: tf.Tensor4D): number[] {
  const evaluate = evaluator(probe, objective, groups);
  return tf.tidy(() => {
    const [, h, w] = images.shape;
    const fed = input.fixedSize ? sampleAffine(images, placeChain([resizeTo(input.fixedSize[0], input.fixedSize[1])], h, w, createRng(0)), rangeMap(input)) : toModelInput(images, input);
    return Array.from(evaluate(fed, images, false).dataSync());
  });
}

/**
 * Optimize one batch of pictures to maximize `objective`, the sum of its per-picture scores.
 * `probe` computes `objective.reads` in that order (none needed when it reads nothing but the
 * picture). Every random draw comes from `settings.seed` and the pictures' keys, so the same
 * call gives the same bytes. Tensors are created and freed inside each step: the count stays flat.
 */
export function dreamBatch(probe: Probe | undefined, objective: Objective, model: ModelInput, pictures: Pictures, settings: DreamSettings, onStep?: StepListener, start?: tf.Tensor4D): DreamBatchResult {
  checkSettings(settings);
  const input = seenInput(model, settings.renderScale);
  const s = settings;
  const { keys, groups } = pictures;
  if (objective.pictures !== undefined && objective.pictures !== keys.length) throw new UsageError(`${objective.text} renders ${objective.pictures} pictures, not ${keys.length}`);
  const evaluate = evaluator(probe, objective, groups);
  const seeds = keys.map((k) => subSeed(s.seed, 1, ...k));
  const decayPower = decayPowerFor(s.renderScale === 'native', s.size, model.fixedSize);
  const paramOptions = { kind: s.param, height: s.size, width: s.size, channels: input.channels, decorrelate: s.decorrelate, seeds, start, decayPower };
  const param: ImageParam = s.optimizer === 'sgd-l2' ? createKerasImage(paramOptions) : createImageParam(paramOptions);
  const rng = createRng(subSeed(s.seed, 2, ...keys.map((k) => k[0])));
  const chain = transformsFor(s.transforms);
  const range = rangeMap(input);
  const optimizer = createOptimizer(s.optimizer, s.lr);
  const frames: Raster[][] = [];
  const keepFrame = () => tf.tidy(() => frames.push(toRasters(param.display())));
  try {
    for (let step = 0; step < s.steps; step++) {
      const redirect = s.optimizer === 'adam' && step < REDIRECT_STEPS;
      let values: tf.Tensor1D | undefined;
      tf.tidy(() => {
        // The network's weights are fixed: no filter gradient is wanted, only the picture's.
        const { grads } = inputGradientsOnly(() => tf.variableGrads(() => {
          const image = param.image();
          // Transformed, sized and put into the model's input range in one pass.
          const x = transformImage(image, chain, rng, input.fixedSize, range);
          values = tf.keep(evaluate(x, image, redirect));
          return values.sum().neg() as tf.Scalar;
        }, param.variables));
        optimizer.apply(grads, param.variables);
      });
      const current = Array.from(values!.dataSync());
      values!.dispose();
      const bad = current.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new RuntimeError(`objective became ${current[bad]} at step ${step + 1} for picture ${bad + 1} (${objective.text}): no picture written; try a lower --lr (now ${s.lr}) or --param fft`);
      }
      onStep?.(step + 1, current);
      if (s.frameEvery > 0 && (step + 1) % s.frameEvery === 0) keepFrame();
    }
    const shown = param.display();
    const final = param.image();
    try {
      return { images: toRasters(shown), objectives: scoreImages(probe, objective, input, groups, final), frames };
    } finally {
      shown.dispose();
      final.dispose();
    }
  } finally {
    optimizer.dispose();
    param.dispose();
  }
}
