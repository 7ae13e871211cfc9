import tf = require('@tensorflow/tfjs');
import { type Read } from './objectives/objective.js';
import { type LoadedModel } from '../model/load.js';
import { createProbe, type ProbeOptions } from './probe.js';

/**
 * A differentiable map from the model's input to the one tensor a single-read objective
 * reads: a probe (probe.ts) with one read.
 */
export interface Target {
  /** What the objective reads, for messages: a layer name or "logits of <layer>". */
  name: string;
  /** Output shape without the batch axis (-1 where it depends on the input's size). */
  shape: number[];
  apply(input: tf.Tensor4D, opts?: ProbeOptions): tf.Tensor;
}

function singleRead(loaded: LoadedModel, read: Read): Target {
  const probe = createProbe(loaded, [read]);
  return { name: probe.names[0], shape: probe.shapes[0], apply: (x, opts) => probe.apply(x, opts)[0] };
}

/** The output of layer `index` of the flattened graph. */
export function layerTarget(loaded: LoadedModel, index: number): Target {
  return singleRead(loaded, { layer: index });
}

/**
 * The classifier's pre-activation scores [B, classes] (logits.ts): a one-unit sigmoid head
 * gives two scores, one per class.
 */
export function logitTarget(loaded: LoadedModel): Target {
  return singleRead(loaded, { logits: true });
}
