import { mkdtempSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { saveModel } from '../../src/model/save.js';

export function tempDir(prefix = 'cnnviz-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Save a model to a folder exactly as `cnnviz train` does (model.json + weights.bin + cnnviz.json). */
export async function saveModelTo(model: tf.LayersModel, dir: string, sidecar?: Record<string, unknown>): Promise<string> {
  mkdirSync(dir, { recursive: true });
  return saveModel(model, dir, sidecar);
}

/** Kernel that answers +1 where brightness rises left to right, -1 where it falls. */
export const VERTICAL_EDGE = [
  [-1, 0, 1],
  [-2, 0, 2],
  [-1, 0, 1],
];

/**
 * A gray 16×16 model: conv(3×3, 'same', relu) with filter 0 a vertical-edge detector and
 * filter 1 its horizontal twin, then max-pool, flatten and a 2-way softmax.
 */
export function edgeModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [16, 16, 1], filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'edges' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }));
  model.add(tf.layers.flatten({ name: 'flat' }));
  // A seeded head: with a random one, some draws make both filters' Grad-CAM weights negative
  // for the predicted class, so its map is all zero (a CI run of the sanity test met one).
  model.add(tf.layers.dense({ units: 2, activation: 'softmax', name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  const k = new Float32Array(3 * 3 * 2);
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 3; x++) {
      k[(y * 3 + x) * 2 + 0] = VERTICAL_EDGE[y][x];
      k[(y * 3 + x) * 2 + 1] = VERTICAL_EDGE[x][y];
    }
  }
  const conv = model.getLayer('edges');
  conv.setWeights([tf.tensor4d(k, [3, 3, 1, 2]), tf.zeros([2])]);
  return model;
}

/**
 * A 32 px colour model of 'valid' convolutions only (3x3, 5x5, 5x5: 'grid' is 10 px smaller
 * than the picture), then a global average and a dense head: any picture side of 11 px or
 * more reaches 'grid', and its side says what size the network was fed.
 */
export function validConvModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 4, kernelSize: 3, activation: 'relu', name: 'c1', kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) }));
  model.add(tf.layers.conv2d({ filters: 4, kernelSize: 5, activation: 'relu', name: 'c2', kernelInitializer: tf.initializers.randomNormal({ seed: 2 }) }));
  model.add(tf.layers.conv2d({ filters: 4, kernelSize: 5, activation: 'relu', name: 'grid', kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) }));
  model.add(tf.layers.globalAveragePooling2d({ name: 'gap' }));
  model.add(tf.layers.dense({ units: 2, name: 'head', kernelInitializer: tf.initializers.randomNormal({ seed: 4 }) }));
  return model;
}

/** A w×h gray PNG-ready buffer: dark left of column `edgeX`, bright from it on. */
export function verticalEdgeImage(w: number, h: number, edgeX: number): Uint8Array {
  const px = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[y * w + x] = x >= edgeX ? 230 : 20;
  return px;
}
