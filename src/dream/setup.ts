import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { type Raster } from '../image/raster.js';
import { type LoadedModel } from '../model/load.js';
import { needsFixedInput } from '../model/fixed-input.js';
import { type ModelInput, type RenderScale } from './render.js';
import { type Probe } from './probe.js';
import { type Rng } from './random.js';
import { placeChain, transformsFor, type TransformSet } from './transforms.js';

/** What the network takes: channel count, value range, and its size when it only takes one. */
export function modelInput(loaded: LoadedModel): ModelInput {
  const [h, w, channels] = loaded.inputShape;
  if (channels !== 1 && channels !== 3) {
    throw new UsageError(`model takes ${channels}-channel input: dream paints 1-channel (gray) or 3-channel (colour) pictures`);
  }
  return { channels, range: loaded.meta.inputRange, fixedSize: h != null && w != null ? [h, w] : undefined };
}

/**
 * The optimized picture's side: --size, else 128, but never larger than a fixed input the
 * model would shrink it to anyway (a 28-px model gets a 28-px dream).
 */
export function dreamSize(input: ModelInput, requested?: number): number {
  if (requested) return requested;
  const fixed = input.fixedSize ? Math.min(...input.fixedSize) : Infinity;
  return Math.min(128, fixed);
}

/**
 * Why a --size can't be had as asked, or undefined when it can. A fixed-size model sees the
 * picture resized to its input at every step, so a larger picture gets no detail finer
 * than that input: it is an enlargement, not more resolution.
 */
export function dreamSizeWarning(input: ModelInput, requested?: number, scale: RenderScale = 'fit'): string | undefined {
  // At native scale the network sees the picture at its own size: every pixel counts.
  if (!requested || !input.fixedSize || scale === 'native') return undefined;
  const [h, w] = input.fixedSize;
  if (requested <= Math.min(h, w)) return undefined;
  return `--size ${requested}: the model takes ${w}x${h} only, so the network sees the picture resized to that and it has no detail finer than ${Math.min(h, w)} px (use --size ${Math.min(h, w)} or less for full detail)`;
}

/**
 * The render scale for a dream of layer `layerIndex`: the one asked for, else native where
 * the layer runs at any input size and fit where it needs the model's own (silently: fit is
 * how such a model always rendered). Native asked for where it can't be had is a usage error.
 */
export function renderScaleFor(loaded: LoadedModel, layers: number[], requested?: RenderScale): RenderScale {
  if (requested === 'fit') return 'fit';
  const verdict = needsFixedInput(loaded, layers);
  if (!verdict.fixed) return 'native';
  if (requested === 'native') throw new UsageError(`--render-scale native: ${verdict.because}; use --render-scale fit`);
  return 'fit';
}

// The smallest canvas a transform chain can make: every random draw at its low end.
const SMALLEST_DRAWS: Rng = { next: () => 0, normal: (n) => new Float32Array(n), int: (lo) => lo, pick: (items) => [...items].sort((a, b) => Number(a) - Number(b))[0] };

/** The side of the smallest picture the network is fed at native scale, for a `size` px dream. */
export function smallestSeenSide(size: number, transforms: TransformSet): number {
  return placeChain(transformsFor(transforms), size, size, SMALLEST_DRAWS).height;
}

/** The largest --size. */
const MAX_SIZE = 2048;

/** Does the probe compute non-empty outputs from a side×side picture? */
function reaches(target: Probe, side: number, channels: number): boolean {
  try {
    return tf.tidy(() => target.apply(tf.zeros([1, side, side, channels])).every((t) => t.shape.every((d) => d > 0)));
  } catch {
    return false;
  }
}

/**
 * At native scale the network sees the (transformed) picture at its own size, and one too
 * small for its valid convolutions and poolings can't reach the target: say so, with the
 * smallest --size that works, before a tfjs shape error would.
 */
export function checkNativeSize(target: Probe, input: ModelInput, size: number, transforms: TransformSet, at?: [number, number]): void {
  const works = (s: number) => reaches(target, smallestSeenSide(s, transforms), input.channels);
  if (works(size)) {
    if (at) checkNativePosition(target, input, size, transforms, at);
    return;
  }
  // Doubling, then halving the gap: small probes first, as a large picture is a slow one.
  let [lo, hi] = [size, size * 2];
  while (!works(hi)) {
    if (hi >= MAX_SIZE) throw new UsageError(`--render-scale native: ${target.names.join(', ')} computes nothing from a ${MAX_SIZE} px picture; use --render-scale fit`);
    [lo, hi] = [hi, Math.min(hi * 2, MAX_SIZE)];
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (works(mid)) hi = mid;
    else lo = mid;
  }
  const seen = smallestSeenSide(size, transforms);
  const after = transforms === 'none' ? '' : ` (${seen} px after the transforms)`;
  throw new UsageError(`--size ${size} is too small for ${target.names.join(', ')} at native scale: the network sees the picture at its own size${after} and that is too small to reach the layer; use --size ${hi} or more, or --render-scale fit`);
}

/**
 * A neuron position (--at) in the grid the layer has at native scale: smaller than at the
 * model's own size when the picture is, and it varies with the transforms' scale; the
 * position has to exist in the smallest.
 */
function checkNativePosition(target: Probe, input: ModelInput, size: number, transforms: TransformSet, [x, y]: [number, number]): void {
  const side = smallestSeenSide(size, transforms);
  const shape = tf.tidy(() => target.apply(tf.zeros([1, side, side, input.channels]))[0].shape);
  if (shape.length !== 4) return;
  const [, h, w] = shape;
  if (x < w && y < h) return;
  throw new UsageError(`--at ${x},${y} is outside ${target.names.join(', ')}'s grid at native scale: a ${size} px picture reaches it as small as ${w}x${h} (x 0-${w - 1}, y 0-${h - 1}); use --render-scale fit for the model's own grid`);
}

/** A start picture (--from) as [1, size, size, c] in [0, 1]. */
export function startTensor(raster: Raster): tf.Tensor4D {
  return tf.tidy(() => tf.tensor4d(Float32Array.from(raster.data), [1, raster.height, raster.width, raster.channels]).div(255) as tf.Tensor4D);
}


/** --class by index or by label (a whole label, or one of its comma-separated synonyms). */
export function resolveClass(spec: string, labels: string[] | undefined, count: number): number {
  const text = spec.trim();
  if (/^\d+$/.test(text)) {
    const i = Number(text);
    if (i >= count) throw new UsageError(`class ${i} out of range: the model has ${count} classes (0-${count - 1})`);
    return i;
  }
  const want = text.toLowerCase();
  const names = labels ?? [];
  let i = names.findIndex((l) => l.toLowerCase() === want);
  if (i < 0) i = names.findIndex((l) => l.toLowerCase().split(',').some((s) => s.trim() === want));
  if (i >= count) throw new UsageError(`class '${spec}' is label ${i}, but the model scores ${count} classes (0-${count - 1}): its labels don't match its output`);
  if (i < 0) {
    const hint = names.length ? `labels include ${names.slice(0, 3).map((l) => `'${l}'`).join(', ')}…` : 'the model has no labels, so give an index';
    throw new UsageError(`unknown class '${spec}': give an index 0-${count - 1} or a label (${hint})`);
  }
  return i;
}

// Default file names live in file-name.ts, which loads no tfjs.
export { dreamFileName, type DreamNameParts } from './file-name.js';

/**
 * Where a neuron objective reads, for names: --at, else the centre of the target's grid (as
 * the objective picks it), or 'centre' when the grid's size depends on the picture's;
 * undefined for a target without a grid (one value per unit).
 */
export function neuronPosition(shape: number[], at?: [number, number]): [number, number] | 'centre' | undefined {
  if (shape.length !== 3) return undefined;
  if (at) return at;
  const [h, w] = shape;
  return h > 0 && w > 0 ? [Math.floor(w / 2), Math.floor(h / 2)] : 'centre';
}
