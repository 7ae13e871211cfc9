import tf = require('@tensorflow/tfjs');
import { readKey, readText, type Objective, type Read } from './objective.js';

/**
 * The unit (channel, class) each picture serves: one for all, or one per picture (the batch
 * of a `--filters 0-15` sheet is 16 pictures, picture b serving units[b]).
 */
export type Units = number | readonly number[];

const unitsText = (u: Units): string => (typeof u === 'number' ? String(u) : 'unit');

/** [B, C] selecting each picture's unit (one-hot rows). */
function selector(units: Units, batch: number, count: number): tf.Tensor2D {
  const hot = new Float32Array(batch * count);
  for (let b = 0; b < batch; b++) {
    const u = typeof units === 'number' ? units : units[b];
    if (u === undefined || u < 0 || u >= count) throw new Error(`unit ${u} out of range 0-${count - 1} for picture ${b}`);
    hot[b * count + u] = 1;
  }
  return tf.tensor2d(hot, [batch, count]);
}

/** Each picture's unit from [B, C] per-unit values. */
function pick(perUnit: tf.Tensor, units: Units): tf.Tensor1D {
  const [batch, count] = perUnit.shape as [number, number];
  return perUnit.mul(selector(units, batch, count)).sum(1) as tf.Tensor1D;
}

/**
 * tf.mean over `axes` whose gradient is one broadcast of dy / N: tfjs's multiplies dy by a
 * tensor of ones it builds in JavaScript every step (the same numbers, as x 1 is exact).
 */
export function meanOver(x: tf.Tensor, axes: number[]): tf.Tensor {
  const op = tf.customGrad(((t: tf.Tensor) => {
    const kept = t.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const count = axes.reduce((n, a) => n * t.shape[a], 1);
    const gradFunc = (dy: tf.Tensor | tf.Tensor[]) => tf.broadcastTo(tf.div(tf.reshape(dy as tf.Tensor, kept), count), t.shape);
    return { value: tf.mean(t, axes), gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor;
}

export interface ChannelOptions {
  /** Pixels of the grid's border left out (the Keras baseline ignores a 2-px frame). */
  border?: number;
  /** Take relu of the read first (an uncapped activation in place of a linear layer's cap: flat.ts). */
  relu?: boolean;
}

/**
 * Lucid's `channel`: the mean of a channel over every position. On a read without a grid
 * (a dense layer, the logits) it is the unit's value.
 */
export function channel(read: Read, unit: Units, opts: ChannelOptions = {}): Objective {
  return {
    reads: [read],
    text: `channel(${readText(read)}, ${unitsText(unit)})`,
    evaluate: ({ read: get }) =>
      tf.tidy(() => {
        let out = get(read);
        if (opts.relu) out = tf.relu(out);
        if (out.rank !== 4) return pick(out.reshape([out.shape[0], -1]), unit);
        const b = opts.border ?? 0;
        const [, h, w] = out.shape;
        const inner = b > 0 && h > 2 * b && w > 2 * b ? out.slice([0, b, b, 0], [-1, h - 2 * b, w - 2 * b, -1]) : out;
        return pick(meanOver(inner, [1, 2]), unit);
      }),
  };
}

/**
 * Lucid's `neuron`: one position of a channel, `at` = [x, y] in the read's grid, default the
 * centre of whatever grid the picture makes (at native scale it follows the picture's size).
 */
export function neuron(read: Read, unit: Units, at?: [number, number]): Objective {
  const where = at ? `, at=${at[0]}:${at[1]}` : '';
  return {
    reads: [read],
    text: `neuron(${readText(read)}, ${unitsText(unit)}${where})`,
    evaluate: ({ read: get }) =>
      tf.tidy(() => {
        const out = get(read);
        if (out.rank !== 4) return pick(out.reshape([out.shape[0], -1]), unit);
        const [B, h, w] = out.shape;
        const [x, y] = at ?? [Math.floor(w / 2), Math.floor(h / 2)];
        return pick(out.slice([0, y, x, 0], [-1, 1, 1, -1]).reshape([B, -1]), unit);
      }),
  };
}

/** The classifier's pre-activation score of a class (logits.ts gives a one-unit sigmoid head two). */
export function logit(unit: Units): Objective {
  return { ...channel({ logits: true }, unit), text: `logit(${unitsText(unit)})` };
}

/** Lucid's `deepdream`: the mean squared activation of a whole layer. */
export function deepdream(read: Read): Objective {
  return {
    reads: [read],
    text: `deepdream(${readText(read)})`,
    evaluate: ({ read: get }) =>
      tf.tidy(() => {
        const out = get(read);
        return meanOver(out.square().reshape([out.shape[0], -1]), [1]) as tf.Tensor1D;
      }),
  };
}

/**
 * Lucid's `direction`: the mean over positions of the activation's dot product with a vector
 * in the layer's channel space (a feature that is a mix of channels, not one of them).
 */
export function direction(read: Read, vector: readonly number[]): Objective {
  return {
    reads: [read],
    text: `direction(${readText(read)})`,
    evaluate: ({ read: get }) =>
      tf.tidy(() => {
        const out = get(read);
        const c = out.shape[out.rank - 1];
        if (c !== vector.length) throw new Error(`direction has ${vector.length} numbers but layer ${readText(read)} has ${c} channels`);
        const perPosition = out.reshape([-1, c]).matMul(tf.tensor2d([...vector], [c, 1]));
        return meanOver(perPosition.reshape([out.shape[0], -1]), [1]) as tf.Tensor1D;
      }),
  };
}

/**
 * Lucid's `channel_interpolate`: a row of `pictures` pictures, the first maximizing channel a,
 * the last channel b, and each one between a mix of the two in proportion to its place.
 */
export function channelInterpolate(readA: Read, unitA: number, readB: Read, unitB: number, pictures = 6): Objective {
  const a = channel(readA, unitA);
  const b = channel(readB, unitB);
  const weights = (from: number) => Array.from({ length: pictures }, (_, i) => (pictures === 1 ? from : Math.abs(from - i / (pictures - 1))));
  const [wa, wb] = [weights(1), weights(0)];
  return {
    reads: readKey(readA) === readKey(readB) ? [readA] : [readA, readB],
    text: `channel_interpolate(${readText(readA)}, ${unitA}, ${readText(readB)}, ${unitB}, n=${pictures})`,
    pictures,
    evaluate: (inputs) =>
      tf.tidy(() => {
        const batch = inputs.image.shape[0];
        if (batch !== pictures) throw new Error(`channel_interpolate renders ${pictures} pictures, got ${batch}`);
        return a.evaluate(inputs).mul(tf.tensor1d(wa)).add(b.evaluate(inputs).mul(tf.tensor1d(wb))) as tf.Tensor1D;
      }),
  };
}
