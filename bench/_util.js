// Shared by the bench sections: timing that survives a shared machine, and model loading.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/**
 * Best of `repeats` runs of fn (after `warmup` untimed ones), as wall-clock and as this
 * process's CPU time. wasm and cpu compute on one thread, so CPU time is what a step costs
 * on an idle core even while other work shares the machine; wall-clock is what a user waits.
 */
export function timeBest(fn, { warmup = 2, repeats = 5 } = {}) {
  for (let i = 0; i < warmup; i++) fn();
  let wall = Infinity;
  let cpu = Infinity;
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    const t = performance.now() - t0;
    const c = process.cpuUsage(c0);
    wall = Math.min(wall, t);
    cpu = Math.min(cpu, (c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

/** A TF.js layers model from model.json + shards on disk (no network, no tfjs-node). */
export async function loadLayersModelFromDir(dir) {
  const json = JSON.parse(await fsp.readFile(path.join(dir, 'model.json'), 'utf8'));
  const specs = [];
  const buffers = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(await fsp.readFile(path.join(dir, p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

export const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
