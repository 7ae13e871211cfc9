import tf = require('@tensorflow/tfjs');

export type OptimizerKind = 'adam' | 'sgd-l2';
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['adam', 'sgd-l2'];

/**
 * One update rule for the picture's variables, so the render loop steps without asking which
 * rule it holds. An optimizer owns its state (Adam's moments): one per render, disposed after.
 */
export interface DreamOptimizer {
  kind: OptimizerKind;
  /** Take one step downhill on `grads` (keyed by variable name). Runs inside the caller's tidy. */
  apply(grads: tf.NamedTensorMap, variables: readonly tf.Variable[]): void;
  dispose(): void;
}

export function createOptimizer(kind: OptimizerKind, lr: number): DreamOptimizer {
  if (kind === 'adam') {
    const adam = tf.train.adam(lr);
    return {
      kind,
      // tfjs types its map of gradients as variables, though it only reads them.
      apply: (grads) => adam.applyGradients(grads as Parameters<typeof adam.applyGradients>[0]),
      dispose: () => adam.dispose(),
    };
  }
  return {
    kind,
    apply(grads, variables) {
      for (const v of variables) {
        // The Keras example: g / ||g|| per picture, then a fixed-size step, so the step length
        // does not depend on how steep the objective is.
        const g = grads[v.name];
        const norm = g.reshape([g.shape[0], -1]).square().sum(1).sqrt().maximum(1e-12).reshape([g.shape[0], ...g.shape.slice(1).map(() => 1)]);
        v.assign(v.sub(g.div(norm).mul(lr)));
      }
    },
    dispose: () => {},
  };
}
