import tf = require('@tensorflow/tfjs');
import { RuntimeError, UsageError } from '../errors.js';
import { type Raster } from '../image/raster.js';
import { type InputRange } from '../model/meta.js';
import { createObjective, type ObjectiveKind } from './objectives.js';
import { createImageParam, createKerasImage, decayPowerFor, type ImageParam, type ParamKind } from './param.js';
import { createRng, subSeed } from './random.js';
import { inputGradientsOnly } from '../backend/gradients.js';
import { placeChain, resizeTo, sampleAffine, transformImage, transformsFor, type TransformSet } from './transforms.js';
import { type Target } from './target.js';
import { createOptimizer, type OptimizerKind } from './optimizers.js';

export { OPTIMIZER_KINDS, type OptimizerKind } from './optimizers.js';

/**
 * What size the network sees the transformed picture at: `native` its own (the input opened
 * up, as Lucid renders), `fit` resized to the model's fixed input size (as Lucent renders).
 */
export type RenderScale = 'native' | 'fit';
export const RENDER_SCALES: readonly RenderScale[] = ['native', 'fit'];

/** Lucid redirects ReLU gradients for this many steps, then lets the true gradient take over. */
export const REDIRECT_STEPS = 16;

export interface DreamSettings {
  objective: ObjectiveKind;
  /** Neuron position in the target's grid (for `neuron`). */
  at?: [number, number];
  minimize: boolean;
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
  objective: 'channel',
  minimize: false,
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
  const bytes = tf.tidy(() => images.mul(255).round().clipByValue(0, 255).cast('int32').dataSync());
  return Array.from({ length: B }, (_, b) => ({ data: Uint8Array.from(bytes.subarray(b * h * w * c, (b + 1) * h * w * c)), width: w, height: h, channels: c as Raster['channels'] }));
}

/** The picture in the model's own units, at its input size: what the network is fed. */
function toModelInput(image: tf.Tensor4D, input: ModelInput): tf.Tensor4D {
  const [lo, hi] = input.range;
  return tf.tidy(() => image.mul(hi - lo).add(lo) as tf.Tensor4D);
}

/** The input as the network is fed at a render scale: native drops the resize to a fixed size. */
export function seenInput(input: ModelInput, scale: RenderScale): ModelInput {
  return scale === 'native' ? { ...input, fixedSize: undefined } : input;
}

/** Objective per unit for untransformed pictures, resized to `input.fixedSize` if set (at fit scale: see seenInput). */
export function scoreImages(target: Target, input: ModelInput, evaluate: (out: tf.Tensor) => tf.Tensor1D, images: tf.Tensor4D): number[] {
  return tf.tidy(() => {
    const [, h, w] = images.shape;
    const sized = input.fixedSize ? sampleAffine(images, placeChain([resizeTo(input.fixedSize[0], input.fixedSize[1])], h, w, createRng(0))) : images;
    return Array.from(evaluate(target.apply(toModelInput(sized, input))).dataSync());
  });
}

/**
 * Optimize one batch of pictures, element b maximizing (or minimizing) unit `units[b]` of
 * `target`. Every random draw comes from `settings.seed` and the unit list, so the same call
 * gives the same bytes. Tensors are created and freed inside each step: the count stays flat.
 */
export function dreamBatch(target: Target, model: ModelInput, units: number[], settings: DreamSettings, onStep?: StepListener, start?: tf.Tensor4D): DreamBatchResult {
  checkSettings(settings);
  const input = seenInput(model, settings.renderScale);
  const s = settings;
  const sign = s.minimize ? -1 : 1;
  const objective = createObjective({ kind: s.objective, units, at: s.at, border: s.optimizer === 'sgd-l2' ? 2 : 0 });
  const seeds = units.map((u) => subSeed(s.seed, 1, u));
  const decayPower = decayPowerFor(s.renderScale === 'native', s.size, model.fixedSize);
  const paramOptions = { kind: s.param, height: s.size, width: s.size, channels: input.channels, decorrelate: s.decorrelate, seeds, start, decayPower };
  const param: ImageParam = s.optimizer === 'sgd-l2' ? createKerasImage(paramOptions) : createImageParam(paramOptions);
  const rng = createRng(subSeed(s.seed, 2, ...units));
  const chain = transformsFor(s.transforms);
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
          const x = transformImage(param.image(), chain, rng, input.fixedSize);
          values = tf.keep(objective.evaluate(target.apply(toModelInput(x, input), { redirect })));
          return values.sum().mul(-sign) as tf.Scalar;
        }, param.variables));
        optimizer.apply(grads, param.variables);
      });
      const current = Array.from(values!.dataSync());
      values!.dispose();
      const bad = current.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new RuntimeError(`objective became ${current[bad]} at step ${step + 1} for unit ${units[bad]}: no picture written; try a lower --lr (now ${s.lr}) or --param fft`);
      }
      onStep?.(step + 1, current);
      if (s.frameEvery > 0 && (step + 1) % s.frameEvery === 0) keepFrame();
    }
    const shown = param.display();
    const final = param.image();
    try {
      return { images: toRasters(shown), objectives: scoreImages(target, input, objective.evaluate, final), frames };
    } finally {
      shown.dispose();
      final.dispose();
    }
  } finally {
    optimizer.dispose();
    param.dispose();
  }
}
