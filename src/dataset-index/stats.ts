/**
 * The index's numbers as plain typed arrays: what a layer record and its statistics are, with no
 * tensor in sight. Reading an index (format.ts, query.ts) needs only this, so `examples --index`
 * runs without loading TensorFlow.js; computing the statistics is compute.ts's job.
 */

import { type NominalField } from '../model/receptive-field.js';

/**
 * A layer's nominal receptive field as `cnnviz index` records it (src/model/receptive-field.ts
 * computes it at the index's input size), or why there is none (a graph model, say).
 */
export type RecordedField = NominalField | { unsupported: string };

/** A layer as the index records it: where it is in the model and the size of its map. */
export interface IndexLayer {
  name: string;
  index: number;
  height: number;
  width: number;
  channels: number;
  /** Its units' receptive field (indexes written since format version 2; absent in older ones). */
  field?: RecordedField;
}

/** The five numbers per (photo, channel), in the order the index stores them. */
export const STATS = ['max', 'mean', 'min', 'argmax', 'argmin'] as const;
export type StatName = (typeof STATS)[number];

/**
 * One layer's statistics for some rows (photos), row-major [rows, channels]: the maximum, mean
 * and minimum over positions, and the flat position y*W+x of the maximum and the minimum (the
 * first such position in row-major order when several tie, as a ReLU's zeros do).
 */
export interface LayerStats {
  max: Float32Array;
  mean: Float32Array;
  min: Float32Array;
  argmax: Int32Array;
  argmin: Int32Array;
}

export function emptyStats(rows: number, channels: number): LayerStats {
  const n = rows * channels;
  return { max: new Float32Array(n), mean: new Float32Array(n), min: new Float32Array(n), argmax: new Int32Array(n), argmin: new Int32Array(n) };
}
