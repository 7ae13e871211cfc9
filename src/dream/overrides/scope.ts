import tf = require('@tensorflow/tfjs');
import { replaceGradient } from '../../backend/activation-gradients.js';

/**
 * Run `forward` with `configs` as the gradients of their kernels, and put back exactly the
 * gradients that were registered before (the same objects), whatever happens. tfjs keeps one
 * gradient per kernel, process-wide, but binds it to each kernel call when the call is
 * recorded on the tape (engine.addTapeNode), so a backward pass that runs after this returns
 * still uses `configs` for the kernels recorded inside it, and every other computation, here
 * or later, sees the usual gradients. For the kernels a forward pass runs that are not ours
 * to wrap (a graph model's): the scoped wrapper around that one forward pass.
 */
export function withGradients<T>(configs: readonly tf.GradConfig[], forward: () => T): T {
  if (!configs.length) return forward();
  const before = configs.map((c) => tf.getGradient(c.kernelName));
  for (const c of configs) replaceGradient(c);
  try {
    return forward();
  } finally {
    configs.forEach((c, i) => {
      const previous = before[i];
      if (previous) replaceGradient(previous);
      else tf.unregisterGradient(c.kernelName);
    });
  }
}
