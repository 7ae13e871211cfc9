import tf = require('@tensorflow/tfjs');

/**
 * The contract every objective, the render loop and the expression parser share (issue 16).
 * An objective is a value: it names the tensors it reads and turns them into one score per
 * picture. The render loop runs one forward pass for the union of every read, hands the
 * outputs over, and maximizes the sum of the scores; it never asks what kind of objective it
 * holds. Objectives compose with `sum`, `difference` and `scale` (algebra.ts).
 */

/** A tensor an objective reads: layer `layer`'s output (flattened-graph index), or the class scores. */
export type Read = { layer: number } | { logits: true };

/** One string per distinct read, so a forward pass computes each once. */
export const readKey = (r: Read): string => ('layer' in r ? `layer:${r.layer}` : 'logits');

/** A read as an objective's text names it: the layer index, or `logits`. */
export const readText = (r: Read): string => ('layer' in r ? String(r.layer) : 'logits');

export interface ObjectiveInputs {
  /** The forward pass's output for `r` (one of the objective's `reads`), [B, ...]. */
  read(r: Read): tf.Tensor;
  /** The pictures being optimized, [B, h, w, c] in [0, 1], before any transform (Lucid's T("input")). */
  image: tf.Tensor4D;
  /**
   * Group of each picture, length B. Pictures of one group are variations of one thing (the
   * `--diversity N` pictures of a filter): diversity and alignment compare pictures only
   * within a group. Default: one group per picture, i.e. no comparisons.
   */
  groups: readonly number[];
  /**
   * Per picture, the score of what a penalty is subtracted from (the left side of `a - b`):
   * what diversity's `keep` guards. A guard reads it without differentiating through it.
   * Absent outside a difference.
   */
  score?: tf.Tensor1D;
}

export interface Objective {
  /** Every tensor `evaluate` reads. */
  reads: Read[];
  /** Score per picture, [B]; a render maximizes their sum. Runs inside the caller's tidy. */
  evaluate(inputs: ObjectiveInputs): tf.Tensor1D;
  /** The objective as an expression, for messages, JSON and file names (`channel(25, 7) - 1e-3 * tv`). */
  text: string;
  /**
   * How many pictures the objective itself defines, when it does (channel_interpolate's row);
   * otherwise the render decides (one per unit, times --diversity).
   */
  pictures?: number;
  /** Frees what the objective holds (a photo's activations); composites free their parts. */
  dispose?(): void;
}

/**
 * What a photo-based objective (caricature, direction from two photos) needs from the model
 * when it is built: the activations of one picture at a read, computed once.
 */
export interface ObjectiveEnv {
  /** [1, ...] activations of `picture` ([1, h, w, c] in [0, 1]) at `r`; the caller disposes the result. */
  activations(picture: tf.Tensor4D, r: Read): tf.Tensor;
}
