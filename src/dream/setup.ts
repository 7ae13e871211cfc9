import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { type Raster } from '../image/raster.js';
import { type LoadedModel } from '../model/load.js';
import { channelTarget } from './flat.js';
import { checkObjective, type ObjectiveKind } from './objectives.js';
import { type ModelInput } from './render.js';
import { layerTarget, logitTarget, type Target } from './target.js';

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
export function dreamSizeWarning(input: ModelInput, requested?: number): string | undefined {
  if (!requested || !input.fixedSize) return undefined;
  const [h, w] = input.fixedSize;
  if (requested <= Math.min(h, w)) return undefined;
  return `--size ${requested}: the model takes ${w}x${h} only, so the network sees the picture resized to that and it has no detail finer than ${Math.min(h, w)} px (use --size ${Math.min(h, w)} or less for full detail)`;
}

/**
 * The tensor the objective reads, and how many units (channels, classes) it offers. `note` is
 * one line for the user when the target is not simply the layer's output (see flat.ts).
 */
export function dreamTarget(loaded: LoadedModel, layerIndex: number, kind: ObjectiveKind, at?: [number, number]): { target: Target; units: number; note?: string } {
  const target = kind === 'logit' ? logitTarget(loaded) : kind === 'channel' ? channelTarget(loaded, layerIndex) : layerTarget(loaded, layerIndex);
  checkObjective(kind, target, at);
  return { target, units: target.shape[target.shape.length - 1], note: (target as { note?: string }).note };
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

/** What a dream's default file name says: the unit list, and the objective when it isn't a plain channel. */
export interface DreamNameParts {
  /** The layer's file-safe name, or 'logit'. */
  layer: string;
  units: number[];
  objective: ObjectiveKind;
  /** The neuron's position (see neuronPosition); none for a target without a grid. */
  at?: [number, number] | 'centre';
  minimize: boolean;
}

/**
 * Default output name: `dream.<layer>.<units>[.neuron-x<X>y<Y>][.neg].png`. Units are one
 * index, `a-b` for a contiguous run (as in --filters a-b), or indices joined by `_`
 * (`1_3`: the filters 1 and 3, not a range); a long scattered list gives its ends and size
 * (`2_90.12-filters`). A plain channel dream keeps the short name; the others say their
 * objective, so a neuron or --minimize dream never overwrites the channel dream.
 */
export function dreamFileName(parts: DreamNameParts): string {
  const { units } = parts;
  const contiguous = units.length > 1 && units.every((u, i) => i === 0 || u === units[i - 1] + 1);
  const list = units.length === 1 ? `${units[0]}` : contiguous ? `${units[0]}-${units[units.length - 1]}` : units.length <= 8 ? units.join('_') : `${units[0]}_${units[units.length - 1]}.${units.length}-filters`;
  const neuron = parts.objective === 'neuron' ? (Array.isArray(parts.at) ? `.neuron-x${parts.at[0]}y${parts.at[1]}` : parts.at ? '.neuron-centre' : '.neuron') : '';
  return `dream.${parts.layer}.${list}${neuron}${parts.minimize ? '.neg' : ''}.png`;
}

/**
 * Where a neuron objective reads, for names: --at, else the centre of the target's grid (as
 * the objective picks it), or 'centre' when the grid's size depends on the picture's;
 * undefined for a target without a grid (one value per unit).
 */
export function neuronPosition(target: Target, at?: [number, number]): [number, number] | 'centre' | undefined {
  if (target.shape.length !== 3) return undefined;
  if (at) return at;
  const [h, w] = target.shape;
  return h > 0 && w > 0 ? [Math.floor(w / 2), Math.floor(h / 2)] : 'centre';
}
