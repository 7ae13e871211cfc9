import tf = require('@tensorflow/tfjs');
import { readText, type Objective, type Read } from './objective.js';

/**
 * Objectives that compare the pictures of a batch with each other, within their group (the
 * `--diversity N` pictures of one filter). Both are penalties: write them with a minus,
 * `channel(25, 7) - 5 * diversity(25)`.
 */


/** [B, B]: 1 where pictures i ≠ j share a group. */
function sameGroup(groups: readonly number[]): tf.Tensor2D {
  const B = groups.length;
  const m = new Float32Array(B * B);
  for (let i = 0; i < B; i++) for (let j = 0; j < B; j++) if (i !== j && groups[i] === groups[j]) m[i * B + j] = 1;
  return tf.tensor2d(m, [B, B]);
}

export type GramForm = 'gram' | 'positions';

/**
 * Which of two equal forms computes the pictures' Gram inner products more cheaply, by
 * multiply-adds. With F_i the [P, C] activations of picture i (P positions, C channels) and
 * G_i = F_iᵀ F_i, <G_i, G_j> = tr(F_iᵀ F_i F_jᵀ F_j) = ‖F_i F_jᵀ‖², so either the B Gram
 * matrices (B·P·C² for them, B²·C² for their products) or one [B·P, B·P] product of every
 * position with every other (B²·P²·C). On wasm the batched transposed matMul of the Gram form
 * and its gradient ran about 4x slower per multiply-add (measured: 8x8x128 and 4x4x256
 * activations, batch 6, 41 and 57 ms a step against 16 and 6 ms), hence the factor. Deep layers
 * (few positions, many channels) take the positions form; a 28x28 layer keeps the Gram form,
 * whose [B·P, B·P] matrix would be large.
 */
export function gramForm(batch: number, positions: number, channels: number): GramForm {
  const gram = batch * positions * channels * channels + batch * batch * channels * channels;
  const byPositions = batch * batch * positions * positions * channels;
  return byPositions <= 4 * gram ? 'positions' : 'gram';
}

/**
 * [B, B]: the Frobenius inner product of picture i's Gram matrix (over the read's positions)
 * with picture j's, in the cheaper form (gramForm; `form` forces one, for the test that they agree).
 */
export function gramProducts(out: tf.Tensor, form?: GramForm): tf.Tensor2D {
  const B = out.shape[0];
  const c = out.shape[out.rank - 1];
  const P = out.size / (B * c);
  if ((form ?? gramForm(B, P, c)) === 'gram') {
    const flat = out.reshape([B, P, c]) as tf.Tensor3D;
    const grams = tf.matMul(flat, flat, true, false).reshape([B, c * c]);
    return tf.matMul(grams, grams, false, true);
  }
  const rows = out.reshape([B * P, c]);
  return tf.matMul(rows, rows, false, true).square().reshape([B, P, B, P]).sum([1, 3]) as tf.Tensor2D;
}

/**
 * Cosines of the pictures' Gram matrices, [B, B]: the products over the norms, each the root
 * of its diagonal entry (floored, so a picture that leaves the layer dark gets no 0/0 gradient).
 */
function gramCosines(out: tf.Tensor): tf.Tensor2D {
  const products = gramProducts(out);
  const B = products.shape[0];
  const norms = products.mul(tf.eye(B)).sum(1).maximum(1e-20).sqrt();
  return products.div(norms.expandDims(1)).div(norms.expandDims(0)) as tf.Tensor2D;
}

/**
 * Lucid's `diversity`: how alike a picture's style (the Gram matrix of its activations, as
 * style transfer compares textures) is to its group's other pictures, as the mean cosine.
 * Subtracting it pushes the pictures of a filter apart into the different things it sees.
 * A picture alone in its group scores 0.
 */
export function diversity(read: Read, keep = 0): Objective {
  return {
    reads: [read],
    text: keep ? `diversity(${readText(read)}, keep=${keep})` : `diversity(${readText(read)})`,
    evaluate: ({ read: get, groups, score }) =>
      tf.tidy(() => {
        const mask = sameGroup(groups);
        let cosines = gramCosines(get(read)).mul(mask);
        if (keep > 0 && score) {
          const g = keptShare(score, groups, keep);
          cosines = cosines.mul(g.expandDims(1)).mul(g.expandDims(0));
        }
        return cosines.sum(1).div(mask.sum(1).maximum(1)) as tf.Tensor1D;
      }),
  };
}

/**
 * What `--diversity N` adds to an objective: `- weight * diversity(layer, keep=keep)`.
 * Measured by `npm run diversity-check` (docs/dream.md): weight 5 unguarded left one picture
 * at 12% of its filter's objective; weight 7 with keep 0.8 pushes the pictures 29% apart and
 * keeps every one at 73% or more.
 */
export const DIVERSITY_DEFAULTS = { weight: 7, keep: 0.8 } as const;

/** Width of the band below which a picture's diversity push fades to nothing. */
const KEEP_BAND = 0.1;

/**
 * Per picture, how much of the diversity push it still takes: 1 while its score is at least
 * keep + 0.1 of its group's best, fading to 0 at keep. Pushing a group apart is a trade
 * against the objective, and Lucid's term makes it for the group as a whole, so one picture
 * can be pushed to where its filter hardly fires; released from every pair, it climbs back.
 * A group whose best score is not positive is not guarded (a ratio means nothing there).
 */
function keptShare(score: tf.Tensor1D, groups: readonly number[], keep: number): tf.Tensor1D {
  const B = groups.length;
  const same = new Float32Array(B * B);
  for (let i = 0; i < B; i++) for (let j = 0; j < B; j++) if (groups[i] === groups[j]) same[i * B + j] = 1;
  // A weight, not a path for gradients: the picture's score is raised by its own term alone.
  const share = tf.customGrad(((s: tf.Tensor1D) => {
    // The best score in each picture's group: scores masked to the group, minus a large number elsewhere.
    const best = s.expandDims(0).tile([B, 1]).add(tf.tensor2d(same, [B, B]).sub(1).mul(1e30)).max(1);
    const kept = s.div(best.maximum(1e-12)).sub(keep).div(KEEP_BAND).clipByValue(0, 1);
    return { value: tf.where(best.greater(0), kept, tf.onesLike(kept)), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return share(score) as tf.Tensor1D;
}

/**
 * Lucid's `alignment`: how far each picture's activations are from its next neighbours' in
 * the row (mean squared difference, the d-th neighbour weighted 1/decay^d, d ≤ 4), so that a
 * channel_interpolate row keeps one composition. A penalty: subtract it.
 */
export function alignment(read: Read, decay = 2): Objective {
  return {
    reads: [read],
    text: decay === 2 ? `alignment(${readText(read)})` : `alignment(${readText(read)}, decay=${decay})`,
    evaluate: ({ read: get, groups }) =>
      tf.tidy(() => {
        const out = get(read);
        const B = out.shape[0];
        const rows = out.reshape([B, -1]);
        const terms: tf.Tensor1D[] = [];
        for (let d = 1; d <= 4; d++) {
          // Picture i is charged for its distance to i+d, and i+d for its distance to i.
          const w = new Float32Array(B * B);
          for (let i = 0; i + d < B; i++) {
            if (groups[i] !== groups[i + d]) continue;
            w[i * B + i + d] = w[(i + d) * B + i] = 1 / decay ** d;
          }
          if (w.every((v) => v === 0)) continue;
          const sq = rows.square().mean(1);
          // mean((a-b)²) = mean(a²) + mean(b²) - 2 mean(ab), for every pair at once.
          const cross = tf.matMul(rows, rows, false, true).div(rows.shape[1] as number);
          const dist = sq.expandDims(1).add(sq.expandDims(0)).sub(cross.mul(2)).relu();
          terms.push(dist.mul(tf.tensor2d(w, [B, B])).sum(1) as tf.Tensor1D);
        }
        return terms.length ? (tf.addN(terms) as tf.Tensor1D) : (tf.zeros([B]) as tf.Tensor1D);
      }),
  };
}

/** An objective with what `dream --diversity N` adds to it: `- weight * diversity(layer, keep=keep)`. */
export function diversityExpression(expression: string, layer: number | string, weight: number = DIVERSITY_DEFAULTS.weight, keep: number = DIVERSITY_DEFAULTS.keep): string {
  return `${expression} - ${weight} * diversity(${layer}${keep ? `, keep=${keep}` : ''})`;
}
