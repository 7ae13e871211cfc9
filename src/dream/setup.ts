import * as tf from '@tensorflow/tfjs';
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
  if (i < 0) {
    const hint = names.length ? `labels include ${names.slice(0, 3).map((l) => `'${l}'`).join(', ')}…` : 'the model has no labels, so give an index';
    throw new UsageError(`unknown class '${spec}': give an index 0-${count - 1} or a label (${hint})`);
  }
  return i;
}
