import tf = require('@tensorflow/tfjs');

/**
 * Gradients of the clamping activations (Relu, Relu6, ClipByValue, Minimum, Maximum) built
 * from ops that wasm runs as tight loops or on XNNPACK (sub, step, mul). tfjs's own build
 * their masks from comparison ops (greater, lessEqual, logicalAnd, where), which wasm runs
 * through a slow broadcasting path. tfjs's relu6 activation, after every MobileNet
 * convolution, is minimum(6, relu(x)): the stock gradient of that minimum alone took 2 ms
 * per 8x112x112x8 map, 28 ms of a 230 ms MobileNet dream step.
 * The masks are the same, boundaries included, so the gradients are the same numbers:
 *   a > b  <=>  a - b > 0  (= step(a - b))      a <= b  <=>  not (a - b > 0)
 * (a difference of two finite floats is 0 only when they are equal).
 */
// Process-wide, so that a second copy of this module (dist/ beside sources under jest) does
// not install its own copies again.
const INSTALLED = Symbol.for('cnnviz.activationGradients');

/** Register `config` in place of tfjs's gradient for its kernel (tfjs warns on that; here it is the point). */
export function replaceGradient(config: tf.GradConfig): void {
  const warn = console.warn;
  console.warn = () => {};
  try {
    tf.registerGradient(config);
  } finally {
    console.warn = warn;
  }
}

/** 1 where `x > 0`, as float32 (tf.step; exact for every finite x). */
const positive = (x: tf.Tensor) => tf.step(x.dtype === 'float32' ? x : tf.cast(x, 'float32'));

/** 1 where lo <= x <= hi, else 0; either bound may be infinite. */
export function insideMask(x: tf.Tensor, lo: number, hi: number): tf.Tensor {
  const below = lo === -Infinity ? undefined : positive(tf.sub(lo, x));
  const above = hi === Infinity ? undefined : positive(tf.sub(x, hi));
  const outside = below && above ? tf.add(below, above) : below ?? above;
  return outside ? tf.sub(1, outside) : tf.onesLike(x);
}

/** 1 where a > b (broadcast), else 0. */
const greaterMask = (a: tf.Tensor, b: tf.Tensor) => positive(tf.sub(a, b));

const GRADIENTS: tf.GradConfig[] = [
  {
    // tfjs's is cast(dy, 'float32'), which on wasm copies the buffer in JavaScript: dy for
    // every op that passes a tensor through unchanged. clone shares it.
    kernelName: 'Identity',
    gradFunc: (dy) => ({ x: () => tf.clone(dy as tf.Tensor) }),
  },
  {
    kernelName: 'Minimum',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => tf.mul(dy as tf.Tensor, tf.sub(1, greaterMask(a, b))),
      b: () => tf.mul(dy as tf.Tensor, greaterMask(a, b)),
    }),
  },
  {
    kernelName: 'Maximum',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => tf.mul(dy as tf.Tensor, tf.sub(1, greaterMask(b, a))),
      b: () => tf.mul(dy as tf.Tensor, greaterMask(b, a)),
    }),
  },
  {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, positive(x)) }),
  },
  {
    kernelName: 'Relu6',
    inputsToSave: ['x'],
    // 0 < x <= 6: step(x) is 1 wherever step(x - 6) is.
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sub(positive(x), positive(tf.sub(x, 6)))) }),
  },
  {
    kernelName: 'ClipByValue',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { clipValueMin, clipValueMax } = attrs as unknown as { clipValueMin: number; clipValueMax: number };
      return { x: () => tf.mul(dy as tf.Tensor, insideMask(x, clipValueMin, clipValueMax)) };
    },
  },
];

/**
 * Install the gradients above, once per process (at backend start). A dream's redirected
 * ReLU gradient replaces these only for one forward pass and then puts them back
 * (dream/overrides/scope.ts).
 */
export function installActivationGradients(): void {
  const flags = globalThis as Record<symbol, unknown>;
  if (flags[INSTALLED]) return;
  flags[INSTALLED] = true;
  for (const config of GRADIENTS) replaceGradient(config);
}
