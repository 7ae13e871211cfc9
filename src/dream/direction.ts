import { readFile } from 'node:fs/promises';
import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { type Raster } from '../image/raster.js';
import { resolveLayer } from '../model/address.js';
import { type LoadedModel } from '../model/load.js';
import { type ObjectiveNode } from './objectives/parse.js';
import { photoActivations } from './photo.js';
import { startTensor } from './setup.js';

/** Where a direction(...) vector comes from: a file, or the difference of two photos at the layer it is used at. */

/** The layer of the expression's direction(...) call, or undefined when it has none. */
export function directionLayer(loaded: LoadedModel, node: ObjectiveNode): number | undefined {
  const walk = (n: ObjectiveNode): number | undefined => {
    if (n.kind === 'call') {
      const arg = n.name === 'direction' ? n.args.layer : undefined;
      if (!arg) return undefined;
      return resolveLayer(arg.kind === 'number' ? String(arg.value) : 'text' in arg ? arg.text : '', loaded.graph.layers);
    }
    if (n.kind === 'negate') return walk(n.operand);
    if (n.kind === 'binary') return walk(n.left) ?? walk(n.right);
    return undefined;
  };
  return walk(node);
}

/** A vector from a JSON array of numbers or a CSV/whitespace list (one row or one column). */
export async function directionFromFile(file: string): Promise<number[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read --direction '${file}': give a JSON array or a CSV list of numbers, one per channel`);
  }
  const trimmed = text.trim();
  let values: unknown;
  try {
    values = trimmed.startsWith('[') ? JSON.parse(trimmed) : trimmed.split(/[\s,;]+/).filter(Boolean).map(Number);
  } catch {
    values = undefined;
  }
  if (!Array.isArray(values) || !values.length || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new UsageError(`bad --direction '${file}': expected a JSON array or a CSV list of finite numbers, one per channel`);
  }
  return values as number[];
}

/**
 * The mean activation of `a` minus that of `b` at `layer`, per channel (averaged over the
 * grid): the direction that leads from what b shows to what a shows.
 */
export function directionFromPhotos(loaded: LoadedModel, layer: number, a: Raster, b: Raster): number[] {
  const mean = (r: Raster) =>
    tf.tidy(() => {
      const out = photoActivations(loaded, startTensor(r), { layer }, 'native');
      const c = out.shape[out.rank - 1] as number;
      return out.reshape([-1, c]).mean(0);
    });
  return tf.tidy(() => Array.from(mean(a).sub(mean(b)).dataSync()));
}
