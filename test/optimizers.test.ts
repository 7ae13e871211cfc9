import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { createOptimizer } from '../src/dream/optimizers.js';
import { ROOT, runCli } from './helpers/cli.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('dream optimizers', () => {
  test('sgd-l2 moves each picture exactly lr along -g/||g||, however steep its gradient', () => {
    const v = tf.variable(tf.zeros([2, 1, 2, 1]), true, 'sgd-l2-test');
    // Picture 0's gradient is 100x picture 1's: after normalising, both move the same distance.
    const g = tf.tensor4d([300, 400, 3, -4], [2, 1, 2, 1]);
    const opt = createOptimizer('sgd-l2', 10);
    opt.apply({ [v.name]: g }, [v]);
    expect(Array.from(v.dataSync())).toEqual([-6, -8, -6, 8].map((x) => Math.fround(x)));
    opt.dispose();
    v.dispose();
    g.dispose();
  });

  test('adam takes its first step of lr against the sign of each gradient element, and keeps its moments', () => {
    const v = tf.variable(tf.zeros([1, 1, 3, 1]), true, 'adam-test');
    const g = tf.tensor4d([5, -0.01, 2], [1, 1, 3, 1]);
    const opt = createOptimizer('adam', 0.05);
    opt.apply({ [v.name]: g }, [v]);
    const first = Array.from(v.dataSync());
    [-0.05, 0.05, -0.05].forEach((want, i) => expect(first[i]).toBeCloseTo(want, 5));
    // A second step with the same gradient: Adam's moments make it lr again (not a plain SGD step of lr*g).
    opt.apply({ [v.name]: g }, [v]);
    Array.from(v.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(2 * first[i], 5));
    const before = tf.memory().numTensors;
    opt.dispose();
    expect(tf.memory().numTensors).toBeLessThan(before);
    v.dispose();
    g.dispose();
  });

  // Our Adam is one kernel per variable (backend/adam-step.ts): it must be tfjs's, bit for bit,
  // or every dream picture would change. 23 elements: five SIMD groups of four and a tail of three.
  test.each(['cpu', 'wasm'])('adam gives tf.train.adam\'s exact bytes over 5 steps on %s', async (backend) => {
    await initBackend(backend);
    try {
      let seed = 7;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
      const grads = Array.from({ length: 5 }, () => Array.from({ length: 23 }, (_, i) => rand() * 10 ** ((i % 7) - 3)));
      const run = (step: (v: tf.Variable, g: tf.Tensor) => void) => {
        const v = tf.variable(tf.tensor1d(Array.from({ length: 23 }, () => rand())), true);
        for (const g of grads) tf.tidy(() => step(v, tf.tensor1d(g)));
        const out = Array.from(v.dataSync());
        v.dispose();
        return out;
      };
      const start = seed;
      const ours = createOptimizer('adam', 0.05);
      const got = run((v, g) => ours.apply({ [v.name]: g }, [v]));
      ours.dispose();
      seed = start;
      const theirs = tf.train.adam(0.05);
      const want = run((v, g) => theirs.applyGradients({ [v.name]: g }));
      theirs.dispose();
      expect(got).toEqual(want);
      expect(got.every((x, i) => x !== grads[0][i])).toBe(true);
    } finally {
      await initBackend('cpu');
    }
  });
});

// The optimizer's move out of the render loop must not change a byte: compare with a build of the
// code before it (default ../main, the lead's checkout; CNNVIZ_REFERENCE_ROOT names another).
const REFERENCE = path.resolve(ROOT, process.env.CNNVIZ_REFERENCE_ROOT ?? '../main');
const referenceCli = path.join(REFERENCE, 'bin/cnnviz.js');
// Compared with itself (run from ../main) the check could not fail: skipped too.
const haveReference = REFERENCE !== ROOT && existsSync(path.join(REFERENCE, 'dist/cli/main.js'));
if (!haveReference) console.warn(`skipping the byte-identity check against a reference build: ${REFERENCE}/dist is absent or is this checkout`);

(haveReference ? describe : describe.skip)('dream output is unchanged by the optimizer interface', () => {
  const runReference = (args: string[]) =>
    new Promise<{ code: number; stdout: Buffer }>((resolve, reject) => {
      const child = spawn(process.execPath, [referenceCli, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', CNNVIZ_BACKEND: 'wasm' } });
      const out: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out) }));
    });
  test.each([
    ['adam', ['--layer', '1', '--filter', '5']],
    ['sgd-l2', ['--layer', '1', '--filter', '5', '--optimizer', 'sgd-l2', '--param', 'pixel', '--no-decorrelate']],
  ])('%s: dream --steps 8 --seed 7 gives the same PNG bytes as the reference build', async (_kind, flags) => {
    const args = ['dream', ...flags, '--steps', '8', '--seed', '7', '--size', '64', '-o', '-'];
    // The reference may predate --render-scale: it rendered at fit, which ours must now be asked for.
    const ours = await runCli([...args, '--render-scale', 'fit']);
    const theirs = await runReference(args);
    expect({ code: ours.code, stderr: ours.code === 0 ? '' : ours.stderr }).toEqual({ code: 0, stderr: '' });
    expect(theirs.code).toBe(0);
    expect(ours.stdout.length).toBeGreaterThan(100);
    expect(ours.stdout.equals(theirs.stdout)).toBe(true);
  }, 120_000);
});
