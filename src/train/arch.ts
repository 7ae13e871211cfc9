import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';

/**
 * A VGG-style stack: stages of Conv2D → BatchNormalization → ReLU blocks, max pooling between
 * stages, then global average pooling and a Dense head.
 */
export interface ArchSpec {
  /** Conv blocks per stage. */
  stages: number[];
  /** Filters of every conv in a stage. */
  widths: number[];
  /** The first conv's kernel side and stride: a strided stem makes every later layer 4× cheaper. */
  stemKernel: number;
  stemStride: number;
}

/**
 * `vgg`, the default, puts the layers where the tutorial's commands expect them (indices are
 * positions in model.layers, and the model is functional so index 0 is its InputLayer, as in Keras):
 * layer 1 is the first convolution and layer 25 the ReLU of the 7th block, a deep layer of the
 * last stage. `tiny` exists for tests and quick experiments.
 */
export const ARCHS: Record<string, ArchSpec> = {
  vgg: { stages: [1, 1, 2, 2, 2], widths: [16, 32, 64, 128, 256], stemKernel: 5, stemStride: 2 },
  tiny: { stages: [1, 1], widths: [8, 16], stemKernel: 3, stemStride: 1 },
};
export const ARCH_NAMES = Object.keys(ARCHS);

export function archSpec(name: string): ArchSpec {
  const spec = ARCHS[name];
  if (!spec) throw new UsageError(`unknown architecture '${name}': choose one of ${ARCH_NAMES.join(', ')}`);
  return spec;
}

/** The input side must be a multiple of the spec's total downsampling. */
export function checkInputSize(spec: ArchSpec, inputSize: number): void {
  const stride = spec.stemStride * 2 ** (spec.stages.length - 1);
  if (inputSize % stride !== 0 || inputSize < stride) {
    throw new UsageError(`bad --input-size ${inputSize}: this architecture downsamples by ${stride}, so use a multiple of ${stride} (e.g. ${Math.max(stride, Math.round(inputSize / stride) * stride)})`);
  }
}

/**
 * Build the model. Every initializer gets its own seed derived from `seed`, so `--seed` fixes
 * the starting weights; the net has no dropout because tfjs's seeded dropout would reuse one
 * mask for every batch (augmentation and batch norm regularize instead).
 */
export function buildModel(spec: ArchSpec, inputSize: number, classes: number, seed: number): tf.LayersModel {
  checkInputSize(spec, inputSize);
  let seeds = seed * 1000;
  const input = tf.input({ shape: [inputSize, inputSize, 3], name: 'image' });
  let x: tf.SymbolicTensor = input;
  let block = 0;
  spec.stages.forEach((blocks, stage) => {
    for (let b = 0; b < blocks; b++) {
      block++;
      const stem = block === 1;
      x = tf.layers
        .conv2d({
          name: `block${block}_conv`,
          filters: spec.widths[stage],
          kernelSize: stem ? spec.stemKernel : 3,
          strides: stem ? spec.stemStride : 1,
          padding: 'same',
          useBias: false, // the batch norm right after supplies the offset
          kernelInitializer: tf.initializers.heNormal({ seed: seeds++ }),
        })
        .apply(x) as tf.SymbolicTensor;
      x = tf.layers.batchNormalization({ name: `block${block}_bn`, momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.reLU({ name: `block${block}_relu` }).apply(x) as tf.SymbolicTensor;
    }
    if (stage < spec.stages.length - 1) x = tf.layers.maxPooling2d({ name: `pool${stage + 1}`, poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const head = tf.layers.dense({
    name: 'head',
    units: classes === 2 ? 1 : classes,
    activation: classes === 2 ? 'sigmoid' : 'softmax',
    kernelInitializer: tf.initializers.glorotUniform({ seed: seeds++ }),
  });
  return tf.model({ inputs: input, outputs: head.apply(x) as tf.SymbolicTensor, name: 'cnnviz_vgg' });
}
