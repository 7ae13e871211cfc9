import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackend } from '../src/backend/select.js';

describe('backend selection', () => {
  test('wasm starts and computes', async () => {
    expect(await initBackend('wasm')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(Array.from(tf.add(tf.tensor1d([1, 2]), 1).dataSync())).toEqual([2, 3]);
  });
  test('auto falls back without tfjs-node', async () => {
    const name = await initBackend('auto');
    expect(['tensorflow', 'wasm', 'cpu']).toContain(name);
  });
  test('unknown backend names the value and the choices', () => {
    expect(() => parseBackend('gpu')).toThrow(/unknown backend 'gpu'.*auto, tensorflow, wasm, cpu/);
  });
});
