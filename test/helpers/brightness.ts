import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { encodePng } from '../../src/image/io.js';
import { saveModel } from '../../src/model/save.js';

/**
 * Classifiers whose answer is known exactly: the head sees only the image's mean brightness m
 * (global average pooling of one 1×1 conv that averages the channels).
 *  - softmax: logits (0, 4m - 2) over [dark, bright];
 *  - sigmoid: P(bright) = sigmoid(4m - 2).
 */
export function brightnessModel(head: 'softmax' | 'sigmoid'): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  const gray = tf.layers.conv2d({ filters: 1, kernelSize: 1, useBias: false, name: 'gray' }).apply(input) as tf.SymbolicTensor;
  const mean = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(gray) as tf.SymbolicTensor;
  const units = head === 'softmax' ? 2 : 1;
  const out = tf.layers.dense({ units, activation: head, name: 'head' }).apply(mean) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  model.getLayer('gray').setWeights([tf.fill([1, 1, 3, 1], 1 / 3)]);
  model.getLayer('head').setWeights(head === 'softmax' ? [tf.tensor2d([[0, 4]]), tf.tensor1d([0, -2])] : [tf.tensor2d([[4]]), tf.tensor1d([-2])]);
  return model;
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** An 8×8 RGB PNG of one gray level. */
export async function flatImage(file: string, value: number): Promise<string> {
  const data = new Uint8Array(8 * 8 * 3).fill(value);
  writeFileSync(file, await encodePng({ data, width: 8, height: 8, channels: 3 }));
  return file;
}

/** Both brightness classifiers saved under `dir` (labels [dark, bright], range [0, 1]). */
export async function saveBrightnessModels(dir: string): Promise<{ softmaxDir: string; sigmoidDir: string }> {
  const softmaxDir = path.join(dir, 'softmax');
  const sigmoidDir = path.join(dir, 'sigmoid');
  await saveModel(brightnessModel('softmax'), softmaxDir, { labels: ['dark', 'bright'], inputRange: [0, 1] });
  await saveModel(brightnessModel('sigmoid'), sigmoidDir, { labels: ['dark', 'bright'], inputRange: [0, 1] });
  return { softmaxDir, sigmoidDir };
}
