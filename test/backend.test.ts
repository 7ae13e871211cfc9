import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackend } from '../src/backend/select.js';
import { ROOT } from './helpers/cli.js';

/** Whether the optional native backend can be found at all (it is not installed here). */
function tfjsNodeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

describe('backend selection', () => {
  test('wasm starts and computes', async () => {
    expect(await initBackend('wasm')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(Array.from(tf.add(tf.tensor1d([1, 2]), 1).dataSync())).toEqual([2, 3]);
  });
  // tfjs-node is optional and absent here (its install needs the network): auto must settle on wasm.
  (tfjsNodeInstalled() ? test.skip : test)('auto falls back to wasm without tfjs-node', async () => {
    expect(await initBackend('auto')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  // Where WebAssembly cannot run (node --jitless has none), wasm fails to start for real and auto
  // takes the next backend; asking for wasm by name is then a one-line error.
  test('auto falls back to cpu where WebAssembly cannot start', () => {
    const script = `
      import { initBackend } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/backend/select.js')).href)};
      console.log(typeof WebAssembly, await initBackend('auto'));
      await initBackend('wasm').catch((err) => console.log(err.message));
    `;
    const r = spawnSync(process.execPath, ['--jitless', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, CNNVIZ_BACKEND: '' } });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([tfjsNodeInstalled() ? 'undefined tensorflow' : 'undefined cpu', "backend 'wasm' could not be started: try --backend cpu"]);
  });
  test('unknown backend names the value and the choices', () => {
    expect(() => parseBackend('gpu')).toThrow(/unknown backend 'gpu'.*auto, tensorflow, wasm, cpu/);
  });
});
