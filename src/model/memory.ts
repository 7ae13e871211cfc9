import * as tf from '@tensorflow/tfjs';
import { checkMemory, type MemoryBudget, type MemoryNeed } from '../backend/memory.js';
import { type LoadedModel } from './load.js';
import { probeActivations } from './probe.js';

/** The side the layer sizes are measured at; every size above scales from it by area. */
const PROBE_SIDE = 64;

/**
 * Peak memory of `activations` at `side` x `side` on a model that takes any size, from one
 * forward pass at 64 x 64: each layer's output grows with the input's area. Held at once:
 * the requested layers' outputs (tensors, then read back as float32), the two largest outputs
 * of the pass in flight, and every layer's picture (3 bytes a value, plus the PNG encoder's
 * copy). Undefined when the model does not run at 64 x 64 (then no estimate is made).
 */
export function activationsMemory(loaded: LoadedModel, indices: number[], side: number): MemoryNeed | undefined {
  const all = loaded.graph.layers.map((l) => l.index);
  let sizes: number[];
  try {
    sizes = tf.tidy(() => {
      const x = tf.zeros([1, PROBE_SIDE, PROBE_SIDE, loaded.inputShape[2]]) as tf.Tensor4D;
      const { activations } = probeActivations(loaded, x, all);
      const out = activations.map((t) => t.size);
      tf.dispose(activations);
      return out;
    });
  } catch {
    return undefined;
  }
  const scale = (side / PROBE_SIDE) ** 2;
  const bytes = (i: number) => sizes[all.indexOf(i)] * scale * 4;
  const requested = indices.reduce((sum, i) => sum + bytes(i), 0);
  const largest = [...all.map(bytes)].sort((a, b) => b - a).slice(0, 2).reduce((a, b) => a + b, 0);
  const tensors = requested + largest;
  return { tensors, total: tensors + requested * (1 + 6 / 4) + side * side * 3 * 5 };
}

/** Refuse an `activations --size` that would not fit, naming the --size that would. */
export function checkActivationsMemory(loaded: LoadedModel, indices: number[], side: number | undefined, budget?: MemoryBudget): void {
  if (side === undefined || loaded.inputShape[0] !== null) return;
  const need = activationsMemory(loaded, indices, side);
  if (!need) return;
  const layers = indices.length === 1 ? `layer ${loaded.graph.layers[indices[0]].name}` : `${indices.length} layers`;
  checkMemory(need, `activations of ${layers} at --size ${side}`, (scale) => `lower it to --size ${Math.max(8, Math.floor((side * scale) / 32) * 32)}`, budget);
}
