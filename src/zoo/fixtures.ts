import tf = require('@tensorflow/tfjs');
import { buildModel, archSpec } from '../train/arch.js';
import { type CnnvizJson } from '../model/meta.js';

/**
 * The fixture zoo of issue 18: four architectures users bring to cnnviz, with random weights
 * from fixed seeds (speed does not depend on the weights), as functional tfjs layers models with
 * Keras's own layer names. `npm run zoo` saves them into `.zoo/`; the tests build reduced
 * variants (`width` < 1, smaller inputs) of the same code.
 *
 * Layer names are given explicitly, Keras-style (`conv2d`, `conv2d_1`, ...), from a counter per
 * build: tfjs's automatic names come from a process-wide counter and would differ between builds.
 */
export interface ZooOptions {
  /** Input side in pixels (default: the fixture's own, 224 or 299). */
  inputSize?: number;
  /** Channel multiplier for reduced test variants (default 1: the real widths). */
  width?: number;
  /** Seed of every initializer (default 1). */
  seed?: number;
}

export interface ZooFixture {
  model: tf.LayersModel;
  sidecar: CnnvizJson;
}

export const ZOO_NAMES = ['darknet-tiny', 'vgg', 'resnet', 'inception-v3'] as const;
export type ZooName = (typeof ZOO_NAMES)[number];

/** The layer each fixture's benchmark dreams (the acceptance list). */
export const ZOO_BENCH_LAYERS: Record<ZooName, string> = {
  'darknet-tiny': 'leaky_re_lu_9', // the 10th LeakyReLU, 256 channels
  vgg: 'block8_relu', // the last ReLU
  resnet: 'conv4_block2_out', // the last block's output
  'inception-v3': 'mixed4',
};

/** Keras-style names (`conv2d`, `conv2d_1`, ...) and seeds, counted per build. */
class Namer {
  private counts = new Map<string, number>();
  private nextSeed: number;
  constructor(seed: number) {
    this.nextSeed = seed * 10_000;
  }
  name(prefix: string): string {
    const n = this.counts.get(prefix) ?? 0;
    this.counts.set(prefix, n + 1);
    return n === 0 ? prefix : `${prefix}_${n}`;
  }
  seed(): number {
    return this.nextSeed++;
  }
}

type T = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: T | T[]): T => layer.apply(x) as T;

/** A batch norm with non-trivial statistics, so a test that folds it into the conv checks something. */
function batchNorm(nm: Namer, x: T, opts: { scale?: boolean; name?: string } = {}): T {
  return apply(
    tf.layers.batchNormalization({
      name: opts.name ?? nm.name('batch_normalization'),
      scale: opts.scale ?? true,
      epsilon: 0.001,
      gammaInitializer: tf.initializers.randomUniform({ minval: 0.8, maxval: 1.2, seed: nm.seed() }),
      betaInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: nm.seed() }),
      movingMeanInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: nm.seed() }),
      movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: nm.seed() }),
    }),
    x,
  );
}

function conv(
  nm: Namer,
  x: T,
  filters: number,
  kernel: number | [number, number],
  opts: { strides?: number; padding?: 'same' | 'valid'; useBias?: boolean; name?: string } = {},
): T {
  return apply(
    tf.layers.conv2d({
      name: opts.name ?? nm.name('conv2d'),
      filters,
      kernelSize: kernel,
      strides: opts.strides ?? 1,
      padding: opts.padding ?? 'same',
      useBias: opts.useBias ?? false,
      kernelInitializer: tf.initializers.heNormal({ seed: nm.seed() }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: nm.seed() }),
    }),
    x,
  );
}

const scaled = (filters: number, width: number): number => Math.max(2, Math.round(filters * width));

/** Darknet-Tiny-shaped: the exact layer list, LeakyReLU(0.1) after every batch norm. */
export function darknetTiny(opts: ZooOptions = {}): ZooFixture {
  const size = opts.inputSize ?? 224;
  const w = opts.width ?? 1;
  const nm = new Namer(opts.seed ?? 1);
  const input = tf.input({ shape: [size, size, 3], name: 'input_1' });
  let x: T = input;
  const block = (filters: number, k: number) => {
    x = conv(nm, x, scaled(filters, w), k);
    x = batchNorm(nm, x);
    x = apply(tf.layers.leakyReLU({ alpha: 0.1, name: nm.name('leaky_re_lu') }), x);
  };
  const pool = () => {
    x = apply(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: nm.name('max_pooling2d') }), x);
  };
  block(16, 3);
  pool();
  block(32, 3);
  pool();
  for (const f of [16, 128, 16, 128]) block(f, f === 16 ? 1 : 3);
  pool();
  for (const f of [32, 256, 32, 256]) block(f, f === 32 ? 1 : 3);
  pool();
  for (const [f, k] of [[64, 1], [512, 3], [64, 1], [512, 3], [128, 1]]) block(f, k);
  x = conv(nm, x, 1000, 1, { useBias: true });
  x = apply(tf.layers.globalAveragePooling2d({ name: nm.name('global_average_pooling2d') }), x);
  return { model: tf.model({ inputs: input, outputs: x, name: 'darknet_tiny' }), sidecar: { name: 'darknet-tiny', inputRange: [0, 1] } };
}

/** The architecture of `cnnviz train --arch vgg` (src/train/arch.ts), 2 classes. */
export function vgg(opts: ZooOptions = {}): ZooFixture {
  const spec = archSpec('vgg');
  const w = opts.width ?? 1;
  const reduced = { ...spec, widths: spec.widths.map((f) => scaled(f, w)) };
  const model = buildModel(reduced, opts.inputSize ?? 224, 2, opts.seed ?? 1);
  return { model, sidecar: { name: 'vgg', inputRange: [0, 1] } };
}

/**
 * ResNet-style: Keras ResNet50's stem and bottleneck blocks (1×1 → 3×3 → 1×1 convs with batch
 * norms, a projection shortcut in each stage's first block, `Add` then ReLU) and its layer names
 * (`conv2_block1_1_conv`, ..., `conv2_block1_add`, `conv2_block1_out`), three stages of two blocks.
 * 'same' padding stands in for Keras's explicit ZeroPadding2D layers.
 */
export function resnet(opts: ZooOptions = {}): ZooFixture {
  const size = opts.inputSize ?? 224;
  const w = opts.width ?? 1;
  const nm = new Namer(opts.seed ?? 1);
  const input = tf.input({ shape: [size, size, 3], name: 'input_1' });
  let x = conv(nm, input, scaled(64, w), 7, { strides: 2, useBias: true, name: 'conv1_conv' });
  x = batchNorm(nm, x, { name: 'conv1_bn' });
  x = apply(tf.layers.activation({ activation: 'relu', name: 'conv1_relu' }), x);
  x = apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'pool1_pool' }), x);
  const stages: [number, number, number][] = [
    [2, 64, 1],
    [3, 128, 2],
    [4, 256, 2],
  ];
  for (const [stage, filters, stride] of stages) {
    for (let b = 1; b <= 2; b++) {
      const name = `conv${stage}_block${b}`;
      const s = b === 1 ? stride : 1;
      const f = scaled(filters, w);
      let shortcut = x;
      if (b === 1) {
        shortcut = conv(nm, x, 4 * f, 1, { strides: s, useBias: true, name: `${name}_0_conv` });
        shortcut = batchNorm(nm, shortcut, { name: `${name}_0_bn` });
      }
      let y = conv(nm, x, f, 1, { strides: s, useBias: true, name: `${name}_1_conv` });
      y = batchNorm(nm, y, { name: `${name}_1_bn` });
      y = apply(tf.layers.activation({ activation: 'relu', name: `${name}_1_relu` }), y);
      y = conv(nm, y, f, 3, { useBias: true, name: `${name}_2_conv` });
      y = batchNorm(nm, y, { name: `${name}_2_bn` });
      y = apply(tf.layers.activation({ activation: 'relu', name: `${name}_2_relu` }), y);
      y = conv(nm, y, 4 * f, 1, { useBias: true, name: `${name}_3_conv` });
      y = batchNorm(nm, y, { name: `${name}_3_bn` });
      x = apply(tf.layers.add({ name: `${name}_add` }), [shortcut, y]);
      x = apply(tf.layers.activation({ activation: 'relu', name: `${name}_out` }), x);
    }
  }
  x = apply(tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
  x = apply(tf.layers.dense({ units: 10, activation: 'softmax', name: 'predictions', kernelInitializer: tf.initializers.glorotUniform({ seed: nm.seed() }) }), x);
  return { model: tf.model({ inputs: input, outputs: x, name: 'resnet_fixture' }), sidecar: { name: 'resnet', inputRange: [0, 1] } };
}

/**
 * Keras's InceptionV3 (`include_top=False`, as in keras/applications/inception_v3.py, layer for
 * layer and with its automatic names: `conv2d_N`, `batch_normalization_N` without scale,
 * `activation_N`, `mixed0`..`mixed10`), then the tutorial's GlobalAveragePooling2D and Dense(1).
 */
export function inceptionV3(opts: ZooOptions = {}): ZooFixture {
  const size = opts.inputSize ?? 299;
  const w = opts.width ?? 1;
  const nm = new Namer(opts.seed ?? 1);
  const input = tf.input({ shape: [size, size, 3], name: 'input_1' });
  const cbn = (x: T, filters: number, rows: number, cols: number, padding: 'same' | 'valid' = 'same', strides = 1): T => {
    let y = conv(nm, x, scaled(filters, w), [rows, cols], { strides, padding });
    y = batchNorm(nm, y, { scale: false });
    return apply(tf.layers.activation({ activation: 'relu', name: nm.name('activation') }), y);
  };
  const maxPool = (x: T) => apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: nm.name('max_pooling2d') }), x);
  const avgPool = (x: T) => apply(tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: nm.name('average_pooling2d') }), x);
  const concat = (xs: T[], name?: string) => apply(tf.layers.concatenate({ axis: -1, name: name ?? nm.name('concatenate') }), xs);

  let x = cbn(input, 32, 3, 3, 'valid', 2);
  x = cbn(x, 32, 3, 3, 'valid');
  x = cbn(x, 64, 3, 3);
  x = maxPool(x);
  x = cbn(x, 80, 1, 1, 'valid');
  x = cbn(x, 192, 3, 3, 'valid');
  x = maxPool(x);

  // mixed 0, 1, 2: 35 × 35 × 256/288
  for (const [i, poolFilters] of [[0, 32], [1, 64], [2, 64]]) {
    const b1 = cbn(x, 64, 1, 1);
    let b5 = cbn(x, 48, 1, 1);
    b5 = cbn(b5, 64, 5, 5);
    let b3 = cbn(x, 64, 1, 1);
    b3 = cbn(b3, 96, 3, 3);
    b3 = cbn(b3, 96, 3, 3);
    const bp = cbn(avgPool(x), poolFilters, 1, 1);
    x = concat([b1, b5, b3, bp], `mixed${i}`);
  }
  // mixed 3: 17 × 17 × 768
  {
    const b3 = cbn(x, 384, 3, 3, 'valid', 2);
    let bd = cbn(x, 64, 1, 1);
    bd = cbn(bd, 96, 3, 3);
    bd = cbn(bd, 96, 3, 3, 'valid', 2);
    x = concat([b3, bd, maxPool(x)], 'mixed3');
  }
  // mixed 4..7: 17 × 17 × 768
  for (const [i, f] of [[4, 128], [5, 160], [6, 160], [7, 192]]) {
    const b1 = cbn(x, 192, 1, 1);
    let b7 = cbn(x, f, 1, 1);
    b7 = cbn(b7, f, 1, 7);
    b7 = cbn(b7, 192, 7, 1);
    let bd = cbn(x, f, 1, 1);
    bd = cbn(bd, f, 7, 1);
    bd = cbn(bd, f, 1, 7);
    bd = cbn(bd, f, 7, 1);
    bd = cbn(bd, 192, 1, 7);
    const bp = cbn(avgPool(x), 192, 1, 1);
    x = concat([b1, b7, bd, bp], `mixed${i}`);
  }
  // mixed 8: 8 × 8 × 1280
  {
    let b3 = cbn(x, 192, 1, 1);
    b3 = cbn(b3, 320, 3, 3, 'valid', 2);
    let b7 = cbn(x, 192, 1, 1);
    b7 = cbn(b7, 192, 1, 7);
    b7 = cbn(b7, 192, 7, 1);
    b7 = cbn(b7, 192, 3, 3, 'valid', 2);
    x = concat([b3, b7, maxPool(x)], 'mixed8');
  }
  // mixed 9, 10: 8 × 8 × 2048
  for (const i of [0, 1]) {
    const b1 = cbn(x, 320, 1, 1);
    const b3 = cbn(x, 384, 1, 1);
    const b3x = concat([cbn(b3, 384, 1, 3), cbn(b3, 384, 3, 1)], `mixed9_${i}`);
    let bd = cbn(x, 448, 1, 1);
    bd = cbn(bd, 384, 3, 3);
    const bdx = concat([cbn(bd, 384, 1, 3), cbn(bd, 384, 3, 1)]);
    const bp = cbn(avgPool(x), 192, 1, 1);
    x = concat([b1, b3x, bdx, bp], `mixed${9 + i}`);
  }
  x = apply(tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }), x);
  x = apply(tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'dense', kernelInitializer: tf.initializers.glorotUniform({ seed: nm.seed() }) }), x);
  return { model: tf.model({ inputs: input, outputs: x, name: 'inception_v3' }), sidecar: { name: 'inception-v3', inputRange: [-1, 1] } };
}

export const ZOO_BUILDERS: Record<ZooName, (opts?: ZooOptions) => ZooFixture> = {
  'darknet-tiny': darknetTiny,
  vgg,
  resnet,
  'inception-v3': inceptionV3,
};
