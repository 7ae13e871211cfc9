import tf = require('@tensorflow/tfjs');
import { threadId } from 'node:worker_threads';
import type { ReportProgress } from './pool.js';

/**
 * Jobs that ship with the pool: a probe that says where it ran, and a CPU-bound tfjs
 * workload (gradient steps of a small conv net) that the bench uses to measure scaling.
 */
export function whereAmI(args: { echo?: unknown }, report: ReportProgress): { backend: string; threadId: number; echo: unknown } {
  report({ stage: 'probed' });
  return { backend: tf.getBackend(), threadId, echo: args.echo };
}

let net: tf.Sequential | undefined;
function smallNet(size: number): tf.Sequential {
  if (net && (net.inputs[0].shape[1] as number) === size) return net;
  net?.dispose();
  net = tf.sequential();
  net.add(tf.layers.conv2d({ inputShape: [size, size, 3], filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
  net.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }));
  net.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  net.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }));
  return net;
}

/** `steps` gradient-ascent steps on one channel of a small conv net; reports each step. */
export function gradientSteps(args: { steps: number; size?: number; channel?: number }, report: ReportProgress): { backend: string; steps: number; mean: number } {
  const size = args.size ?? 64;
  const model = smallNet(size);
  const channel = args.channel ?? 0;
  const objective = (x: tf.Tensor) => tf.mean(tf.slice(model.apply(x) as tf.Tensor4D, [0, 0, 0, channel], [-1, -1, -1, 1]));
  const grad = tf.grad(objective);
  let x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 1);
  for (let i = 0; i < args.steps; i++) {
    const next = tf.tidy(() => tf.add(x, tf.mul(grad(x), 0.1)));
    x.dispose();
    x = next;
    report({ step: i + 1 });
  }
  const mean = tf.tidy(() => objective(x).dataSync()[0]);
  x.dispose();
  return { backend: tf.getBackend(), steps: args.steps, mean };
}
