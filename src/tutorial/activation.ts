import { UsageError } from '../errors.js';

export interface ActivationFn {
  name: string;
  /** As the tutorial writes it. */
  formula: string;
  fn: (x: number) => number;
}

/** Slope for negative inputs; Keras's default is 0.3, tf.leakyRelu's 0.2: 0.1 reads well on a plot. */
export const LEAKY_ALPHA = 0.1;

const FUNCTIONS: ActivationFn[] = [
  { name: 'relu', formula: 'max(0, x)', fn: (x) => (x > 0 ? x : 0) },
  { name: 'sigmoid', formula: '1 / (1 + exp(-x))', fn: (x) => 1 / (1 + Math.exp(-x)) },
  { name: 'tanh', formula: 'tanh(x)', fn: Math.tanh },
  { name: 'relu6', formula: 'min(max(0, x), 6)', fn: (x) => Math.min(Math.max(0, x), 6) },
  { name: 'leaky-relu', formula: `max(${LEAKY_ALPHA}x, x)`, fn: (x) => (x > 0 ? x : LEAKY_ALPHA * x) },
];
export const ACTIVATION_NAMES = FUNCTIONS.map((f) => f.name);

export function activationFn(name: string): ActivationFn {
  const f = FUNCTIONS.find((a) => a.name === name.toLowerCase().replace('_', '-'));
  if (!f) throw new UsageError(`unknown activation '${name}': choose one of ${ACTIVATION_NAMES.join(', ')}`);
  return f;
}

/** Apply in place; `none` leaves the raw (signed) response. */
export function applyActivation(values: Float32Array, name: string): Float32Array {
  if (name === 'none') return values;
  const { fn } = activationFn(name);
  for (let i = 0; i < values.length; i++) values[i] = fn(values[i]);
  return values;
}
