import tf = require('@tensorflow/tfjs');
import { decorrelationMatrix } from './color.js';
import { irfft2d, rfft2dFrequencies } from '../backend/fft.js';
import { mixPlanes } from '../backend/colour-mix.js';
import { activationGradFromOutput } from '../backend/activation-pass.js';
import { createRng } from './random.js';
import { readBack } from '../backend/read-back.js';

export type ParamKind = 'fft' | 'pixel';
export const PARAM_KINDS: readonly ParamKind[] = ['fft', 'pixel'];

/**
 * An image made of trainable variables. `image()` is what the network sees, in [0, 1];
 * `display()` is what gets written (the same, except for the Keras baseline, whose raw
 * pixels are contrast-normalised for viewing the way that example does).
 */
export interface ImageParam {
  variables: tf.Variable[];
  image(): tf.Tensor4D;
  display(): tf.Tensor4D;
  dispose(): void;
}

export interface ParamOptions {
  kind: ParamKind;
  height: number;
  width: number;
  channels: number;
  /** Lucid's colour decorrelation (colour models only). */
  decorrelate: boolean;
  /** One seed per batch element, so a filter's start noise doesn't depend on its batch mates. */
  seeds: number[];
  /** A [1, h, w, c] picture in [0, 1] to start from instead of grey (DeepDream style). */
  start?: tf.Tensor4D;
  /** The spectral image's 1/f^p spectrum decay (fft only): Lucid's DECAY_POWER unless given. */
  decayPower?: number;
}

/** Lucid's `fft_image` standard deviation and spectrum decay. */
const INIT_SD = 0.01;
export const DECAY_POWER = 1;

/**
 * The decay for pictures the network sees at their own size (native render scale). There the
 * net paints detail at its own pixel scale, and early layers' dreams turn to fine grain: with
 * Lucid's 1/f the 16 conv_pw_3_relu dreams of MobileNet v1 0.25 (seed 7, 512 steps) put a
 * median 0.21 of their power above half Nyquist (issue 16 asks <= 0.2); with 1/f^1.5 0.18
 * (1.2 gave 0.21), conv_pw_7 and 11 going from 0.13 and 0.15 to 0.09 and 0.12, every layer
 * still 16/16 superstimuli and >= 15/16 distinct (scripts/quality.js). At fit scale the resize to the
 * model's input already damps the fine grain, and Lucid's decay stays.
 */
export const NATIVE_DECAY_POWER = 1.5;

/**
 * The decay for a `size` px dream: NATIVE_DECAY_POWER where native scale shows the network
 * the picture at a size its fixed input would have changed (fit resizes it), Lucid's where the
 * two scales see the same thing (a 12 px dream of a 12 px model, a model of any input size).
 */
export function decayPowerFor(native: boolean, size: number, fixedSize?: [number, number]): number {
  const fitWouldResize = fixedSize !== undefined && (fixedSize[0] !== size || fixedSize[1] !== size);
  return native && fitWouldResize ? NATIVE_DECAY_POWER : DECAY_POWER;
}

/**
 * Lucid's spectral image: Normal(0, 0.01) half-spectrum coefficients, scaled by 1/f (so low
 * frequencies dominate and the optimizer's steps are roughly whitened), inverse real FFT, ÷4.
 */
interface RawImage {
  variables: tf.Variable[];
  /** The unconstrained image, [B, h, w, c], colour-mixed by `mix` when given (pixel = x · mix), before the sigmoid. */
  raw: (mix?: tf.Tensor2D) => tf.Tensor4D;
  dispose: () => void;
}

function spectralImage(o: ParamOptions): RawImage {
  const { height: h, width: w, channels: c, seeds, decayPower = DECAY_POWER } = o;
  const wf = Math.floor(w / 2) + 1;
  const freqs = readBack(() => rfft2dFrequencies(h, w));
  const scale = new Float32Array(freqs.length);
  for (let i = 0; i < freqs.length; i++) scale[i] = Math.sqrt(w * h) / Math.max(freqs[i], 1 / Math.max(w, h)) ** decayPower;
  // Real and imaginary parts as two variables: slicing one [B, 2, ...] tensor apart each step
  // (tf.unstack) cost more on wasm than the inverse FFT itself.
  const per = c * h * wf;
  const parts = [new Float32Array(seeds.length * per), new Float32Array(seeds.length * per)];
  seeds.forEach((s, b) => {
    const noise = createRng(s).normal(2 * per, 0, INIT_SD); // Lucid's [2, c, h, wf] order
    parts[0].set(noise.subarray(0, per), b * per);
    parts[1].set(noise.subarray(per), b * per);
  });
  const [re, im] = parts.map((p) => tf.tidy(() => tf.variable(tf.tensor(p, [seeds.length, c, h, wf]))));
  const scaleT = tf.keep(tf.tensor(scale, [h, wf]));
  const raw = (mix?: tf.Tensor2D) =>
    tf.tidy(() => {
      const planes = irfft2d(re, im, h, w, scaleT) as tf.Tensor4D;
      // [B, c, h, w] -> [B, h, w, c], ÷4, and the colour mix: one pass on wasm.
      if (mix) return mixPlanes(planes, mix, 4);
      return planes.transpose([0, 2, 3, 1]).div(4) as tf.Tensor4D;
    });
  return {
    variables: [re, im],
    raw,
    dispose: () => {
      re.dispose();
      im.dispose();
      scaleT.dispose();
    },
  };
}

function pixelImage(o: ParamOptions): RawImage {
  const per = o.height * o.width * o.channels;
  const init = new Float32Array(o.seeds.length * per);
  o.seeds.forEach((s, b) => init.set(createRng(s).normal(per, 0, INIT_SD), b * per));
  const pixels = tf.tidy(() => tf.variable(tf.tensor4d(init, [o.seeds.length, o.height, o.width, o.channels])));
  const raw = (mix?: tf.Tensor2D) => (mix ? tf.tidy(() => tf.matMul(pixels.reshape([-1, 3]), mix).reshape(pixels.shape)) : pixels.clone()) as tf.Tensor4D;
  return { variables: [pixels], raw, dispose: () => pixels.dispose() };
}

/**
 * tf.sigmoid whose gradient is one pass over dy and the output (activation-pass.ts), the same
 * numbers as tfjs's sigmoid gradient, which is three passes (1 - y, y (1 - y), dy times it)
 * over the whole batch of pictures every step.
 */
export function sigmoid(x: tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad(((t: tf.Tensor4D, save: tf.GradSaveFunc) => {
    const value = tf.sigmoid(t);
    save([value]);
    return { value, gradFunc: (dy: tf.Tensor | tf.Tensor[], [y]: tf.Tensor[]) => activationGradFromOutput(dy as tf.Tensor, y, 'sigmoid') };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor4D;
}

/** Lucid's `to_valid_rgb`: decorrelated colour axes, then a sigmoid into [0, 1]. */
export function createImageParam(o: ParamOptions): ImageParam {
  const base = o.kind === 'fft' ? spectralImage(o) : pixelImage(o);
  const mix = o.decorrelate && o.channels === 3 ? tf.keep(tf.tensor2d(decorrelationMatrix(), [3, 3])) : undefined;
  // Starting from a picture: add its logit, so sigmoid gives the picture back at zero noise.
  const offset = o.start ? tf.keep(tf.tidy(() => tf.log(o.start!.clipByValue(0.01, 0.99)).sub(tf.log(tf.sub(1, o.start!.clipByValue(0.01, 0.99)))))) : undefined;
  const image = () =>
    tf.tidy(() => {
      let t = base.raw(mix);
      if (offset) t = t.add(offset);
      return sigmoid(t);
    });
  return {
    variables: base.variables,
    image,
    display: image,
    dispose() {
      base.dispose();
      mix?.dispose();
      offset?.dispose();
    },
  };
}

/**
 * The Keras example's image ("Visualizing what convnets learn"): raw pixels in [-1, 1] units
 * starting at (U[0,1) - 0.5) * 0.25, no sigmoid, shown after normalising to mean 0.5, sd 0.15.
 */
export function createKerasImage(o: ParamOptions): ImageParam {
  const per = o.height * o.width * o.channels;
  const init = new Float32Array(o.seeds.length * per);
  o.seeds.forEach((s, b) => {
    const rng = createRng(s);
    for (let i = 0; i < per; i++) init[b * per + i] = (rng.next() - 0.5) * 0.25;
  });
  const start = o.start ? tf.tidy(() => o.start!.mul(2).sub(1).tile([o.seeds.length, 1, 1, 1])) : tf.tensor4d(init, [o.seeds.length, o.height, o.width, o.channels]);
  const pixels = tf.variable(start);
  start.dispose();
  return {
    variables: [pixels],
    image: () => tf.tidy(() => pixels.add(1).div(2) as tf.Tensor4D),
    display: () =>
      tf.tidy(() => {
        const { mean, variance } = tf.moments(pixels, [1, 2, 3], true);
        return pixels.sub(mean).div(variance.sqrt().add(1e-5)).mul(0.15).add(0.5).clipByValue(0, 1) as tf.Tensor4D;
      }),
    dispose: () => pixels.dispose(),
  };
}
