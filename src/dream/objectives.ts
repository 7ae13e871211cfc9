import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { type Target } from './target.js';

export type ObjectiveKind = 'channel' | 'neuron' | 'logit';
export const OBJECTIVE_KINDS: readonly ObjectiveKind[] = ['channel', 'neuron', 'logit'];

/**
 * What a dream maximizes, one value per batch element: element b serves `units[b]` (a
 * channel, or a class for `logit`). Elements never mix, so a batch of 16 filters is 16
 * independent optimizations that share the network's passes.
 */
export interface Objective {
  kind: ObjectiveKind;
  units: number[];
  /** [B] objective values from the target tensor [B, ...]. */
  evaluate(output: tf.Tensor): tf.Tensor1D;
}

export interface ObjectiveOptions {
  kind: ObjectiveKind;
  units: number[];
  /** Neuron position (x, y) in the target's own grid; default the centre. */
  at?: [number, number];
  /** Pixels of the target's border left out (the Keras baseline ignores a 2-px frame). */
  border?: number;
}

/** One-hot rows selecting each element's unit: [B, units]. */
function selector(units: number[], count: number): tf.Tensor2D {
  const hot = new Float32Array(units.length * count);
  units.forEach((u, b) => (hot[b * count + u] = 1));
  return tf.tensor2d(hot, [units.length, count]);
}

/** Does `kind` make sense on this target? Throws a usage error naming what fits instead. */
export function checkObjective(kind: ObjectiveKind, target: Target, at?: [number, number]): void {
  const spatial = target.shape.length === 3;
  if (kind === 'channel' && !spatial) {
    throw new UsageError(
      `--objective channel needs a layer with height, width and channel axes, but ${target.name} has output [${target.shape.join(', ')}]: use --objective neuron (one unit) or logit (a class score)`,
    );
  }
  if (kind === 'neuron' && at && !spatial) throw new UsageError(`--at needs a layer with spatial axes, but ${target.name} has output [${target.shape.join(', ')}]`);
  if (kind === 'neuron' && at && spatial) {
    const [h, w] = target.shape;
    const [x, y] = at;
    if (x < 0 || y < 0 || x >= w || y >= h) throw new UsageError(`--at ${x},${y} is outside ${target.name}'s ${w}x${h} grid (x 0-${w - 1}, y 0-${h - 1})`);
  }
}

export function createObjective(o: ObjectiveOptions): Objective {
  const { kind, units } = o;
  const evaluate = (out: tf.Tensor): tf.Tensor1D =>
    tf.tidy(() => {

      let perUnit: tf.Tensor; // [B, units]
      if (out.rank === 4 && kind === 'channel') {
        const b = o.border ?? 0;
        const [, h, w] = out.shape;
        const inner = b > 0 && h > 2 * b && w > 2 * b ? out.slice([0, b, b, 0], [-1, h - 2 * b, w - 2 * b, -1]) : out;
        perUnit = inner.mean([1, 2]);
      } else if (out.rank === 4) {
        const [, h, w] = out.shape;
        const [x, y] = o.at ?? [Math.floor(w / 2), Math.floor(h / 2)];
        perUnit = out.slice([0, y, x, 0], [-1, 1, 1, -1]).reshape([out.shape[0], -1]);
      } else {
        perUnit = out.reshape([out.shape[0], -1]);
      }
      return perUnit.mul(selector(units, perUnit.shape[1] as number)).sum(1) as tf.Tensor1D;
    });
  return { kind, units, evaluate };
}
