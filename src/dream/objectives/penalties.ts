import tf = require('@tensorflow/tfjs');
import { readText, type Objective, type Read } from './objective.js';

/**
 * Penalties on the picture (or a layer): write them with a minus, `channel(25, 7) - 1e-3 * tv`.
 * Lucid sums over pixels; these average, so a weight means the same at every picture size.
 */

/** The picture when `read` is undefined, else the read's output. */
const source = (read: Read | undefined, inputs: { read(r: Read): tf.Tensor; image: tf.Tensor4D }): tf.Tensor => (read ? inputs.read(read) : inputs.image);
const onText = (read: Read | undefined): string => (read ? readText(read) : 'input');

/** Total variation: the mean absolute step between neighbouring pixels (Lucid's `total_variation`, per pixel). */
export function tv(): Objective {
  return {
    reads: [],
    text: 'tv',
    evaluate: ({ image }) =>
      tf.tidy(() => {
        const [B, h, w] = image.shape;
        const down = image.slice([0, 1, 0, 0], [-1, h - 1, -1, -1]).sub(image.slice([0, 0, 0, 0], [-1, h - 1, -1, -1])).abs().reshape([B, -1]).mean(1);
        const right = image.slice([0, 0, 1, 0], [-1, -1, w - 1, -1]).sub(image.slice([0, 0, 0, 0], [-1, -1, w - 1, -1])).abs().reshape([B, -1]).mean(1);
        return down.add(right) as tf.Tensor1D;
      }),
  };
}

/** Lucid's `L1`: the mean absolute difference from `constant`, of the picture (default) or a layer. */
export function l1(constant = 0, read?: Read): Objective {
  return {
    reads: read ? [read] : [],
    text: `l1(${onText(read)}${constant ? `, c=${constant}` : ''})`,
    evaluate: (inputs) =>
      tf.tidy(() => {
        const x = source(read, inputs);
        return x.sub(constant).abs().reshape([x.shape[0], -1]).mean(1) as tf.Tensor1D;
      }),
  };
}

/** Lucid's `L2`: the root mean squared difference from `constant`, of the picture (default) or a layer. */
export function l2(constant = 0, read?: Read): Objective {
  return {
    reads: read ? [read] : [],
    text: `l2(${onText(read)}${constant ? `, c=${constant}` : ''})`,
    evaluate: (inputs) =>
      tf.tidy(() => {
        const x = source(read, inputs);
        // The epsilon keeps the gradient finite where the picture equals the constant.
        return x.sub(constant).square().reshape([x.shape[0], -1]).mean(1).add(1e-12).sqrt() as tf.Tensor1D;
      }),
  };
}
