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
  model.add(tf.layers.dense({ units: 2, activation: 'softmax', name: 'head' }));
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

/** A w×h gray PNG-ready buffer: dark left of column `edgeX`, bright from it on. */
export function verticalEdgeImage(w: number, h: number, edgeX: number): Uint8Array {
  const px = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[y * w + x] = x >= edgeX ? 230 : 20;
  return px;
}
