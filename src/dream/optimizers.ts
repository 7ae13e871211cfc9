import tf = require('@tensorflow/tfjs');
import { adamStep } from '../backend/adam-step.js';

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
  if (kind === 'adam') return createAdam(lr);
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

/** tfjs's Adam defaults (tf.train.adam). */
const BETA1 = 0.9;
const BETA2 = 0.999;

/**
 * tf.train.adam's update, number for number (see backend/adam-step.ts), in one kernel per
 * variable instead of thirteen tensor ops. Its scalars are float32 as tfjs holds them: the
 * running powers b^t are multiplied in float32, as tfjs's accBeta variables are.
 */
function createAdam(lr: number): DreamOptimizer {
  const f = Math.fround;
  const eps = f(tf.backend().epsilon());
  const moments = new Map<string, { m: tf.Tensor; v: tf.Tensor }>();
  let acc1 = f(BETA1);
  let acc2 = f(BETA2);
  return {
    kind: 'adam',
    apply(grads, variables) {
      const k = { b1: f(BETA1), c1: f(1 - BETA1), b2: f(BETA2), c2: f(1 - BETA2), d1: f(1 - acc1), d2: f(1 - acc2), eps, nlr: f(-lr) };
      for (const variable of variables) {
        const g = grads[variable.name];
        if (!g) continue;
        const old = moments.get(variable.name) ?? { m: tf.zerosLike(variable), v: tf.zerosLike(variable) };
        const [x, m, v] = adamStep(variable, g, old.m, old.v, k);
        variable.assign(x);
        // The moments outlive the caller's tidy; the ones they replace are done with.
        moments.set(variable.name, { m: tf.keep(m), v: tf.keep(v) });
        tf.dispose([old.m, old.v]);
      }
      acc1 = f(acc1 * f(BETA1));
      acc2 = f(acc2 * f(BETA2));
    },
    dispose() {
      for (const { m, v } of moments.values()) tf.dispose([m, v]);
      moments.clear();
    },
  };
}
