import tf = require('@tensorflow/tfjs');
import { readModelMeta, type InputRange, type ModelMeta } from './meta.js';

/**
 * A model that begins with Rescaling(scale, offset) expects raw pixels: the layer maps
 * them to [0, 1], or to [-1, 1] when the offset is -1. So the input range is the preimage of
 * that target, e.g. 1/255 → [0, 255] and 1/127.5 with offset -1 → [0, 255].
 */
export function rescalingRange(model: tf.LayersModel): InputRange | undefined {
  const first = model.layers.find((l) => l.getClassName() !== 'InputLayer');
  if (!first) return undefined;
  if (first instanceof tf.LayersModel) return rescalingRange(first);
  if (first.getClassName() !== 'Rescaling') return undefined;
  const cfg = first.getConfig() as { scale?: unknown; offset?: unknown };
  const scale = Number(Array.isArray(cfg.scale) ? cfg.scale[0] : cfg.scale);
  const offset = Number(Array.isArray(cfg.offset) ? cfg.offset[0] : (cfg.offset ?? 0));
  if (!(scale > 0 && scale < 1) || !Number.isFinite(offset)) return undefined;
  const target = Math.abs(offset + 1) < 1e-6 ? [-1, 1] : [0, 1];
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  return [round((target[0] - offset) / scale), round((target[1] - offset) / scale)];
}

/** readModelMeta for a layers model, with the range a leading Rescaling layer implies as the hint. */
export async function layersModelMeta(model: tf.LayersModel, file: string, name: string | undefined): Promise<ModelMeta> {
  const hint = rescalingRange(model);
  const meta = await readModelMeta(file, name, hint);
  return hint && meta.inputRangeSource === 'model' ? { ...meta, inputRangeSource: 'Rescaling layer' } : meta;
}
