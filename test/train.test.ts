import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { loadModel } from '../src/model/load.js';
import { buildModel, ARCHS } from '../src/train/arch.js';
import { DEFAULT_AUGMENT } from '../src/train/augment.js';
import { scanDataset } from '../src/train/dataset.js';
import { trainFromFolder, type TrainRunOptions } from '../src/train/run.js';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/models.js';
import { stripes, stripesDataset } from './helpers/datasets.js';

/** wasm once its filter-gradient kernel is registered (issue 3); the cpu backend until then. */
async function trainingBackend(): Promise<string> {
  await initBackend('wasm');
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return 'wasm';
  await initBackend('cpu');
  return 'cpu';
}

const FAST = { arch: 'tiny', inputSize: 16, inputRange: [0, 1] as [number, number], epochs: 2, batchSize: 8, lr: 0.01, patience: 5, valSplit: 0.2, timeLimitMinutes: 0, augment: DEFAULT_AUGMENT, force: false };

let backend: string;
let data: string;
beforeAll(async () => {
  backend = await trainingBackend();
  data = await stripesDataset(path.join(tempDir(), 'stripes'));
});

function runOptions(output: string, extra: Partial<TrainRunOptions> = {}): TrainRunOptions {
  return { ...FAST, dataset: data, output, seed: 1, command: 'cnnviz train (test)', backend, ...extra };
}

describe('train on a synthetic stripes dataset', () => {
  test('2 epochs of a tiny CNN reach > 90% val accuracy and save a model cnnviz can load', async () => {
    const out = path.join(tempDir(), 'model');
    // The first run fills bounded caches (tfjs-layers' constants, wasm's derived kernels): count from the second.
    await trainFromFolder(runOptions(path.join(tempDir(), 'warm-up')));
    const before = tf.memory().numTensors;
    const { loop, sidecar, modelFile } = await trainFromFolder(runOptions(out));
    expect(tf.memory().numTensors).toBe(before);
    expect(loop.history).toHaveLength(2);
    expect(loop.best.valAccuracy).toBeGreaterThan(0.9);

    expect(sidecar).toMatchObject({ labels: ['horizontal', 'vertical'], inputSize: 16, inputRange: [0, 1], epochs: 2, bestEpoch: loop.best.epoch });
    expect(sidecar.valAccuracy).toBeCloseTo(loop.best.valAccuracy, 4);
    expect(sidecar.dataset).toEqual({ name: 'stripes', layout: 'folders', train: { horizontal: 48, vertical: 48 }, val: { horizontal: 12, vertical: 12 }, skippedUnreadable: 0 });
    expect(sidecar.command).toBe('cnnviz train (test)');
    expect(typeof sidecar.trainingSeconds).toBe('number');
    expect(JSON.parse(readFileSync(path.join(out, 'cnnviz.json'), 'utf8'))).toEqual(sidecar);

    // The saved model is the best epoch's, and predicts what training measured.
    const loaded = await loadModel(modelFile);
    expect(loaded.meta.labels).toEqual(['horizontal', 'vertical']);
    expect(loaded.inputShape).toEqual([16, 16, 3]);
    loaded.model.dispose();
  });

  test('the same --seed gives the same split, history and weights; another seed does not', async () => {
    const a = await trainFromFolder(runOptions(path.join(tempDir(), 'a'), { epochs: 1 }));
    const b = await trainFromFolder(runOptions(path.join(tempDir(), 'b'), { epochs: 1 }));
    const c = await trainFromFolder(runOptions(path.join(tempDir(), 'c'), { epochs: 1, seed: 2 }));
    const strip = (h: typeof a.loop.history) => h.map(({ seconds: _s, imagesPerSecond: _i, ...rest }) => rest);
    expect(strip(a.loop.history)).toEqual(strip(b.loop.history));
    const weights = (r: typeof a) => readFileSync(path.join(path.dirname(r.modelFile), 'weights.bin'));
    expect(weights(a).equals(weights(b))).toBe(true);
    expect(weights(a).equals(weights(c))).toBe(false);

    const split = async (seed: number) => (await scanDataset(data, { valSplit: 0.2, seed })).val.map((f) => f.file);
    expect(await split(5)).toEqual(await split(5));
    expect(await split(5)).not.toEqual(await split(6));
  });
});

describe('the default architecture', () => {
  test('layer 1 is the first convolution and layer 25 the ReLU of a last-stage block', () => {
    const model = buildModel(ARCHS.vgg, 96, 2, 1);
    expect(model.layers[0].getClassName()).toBe('InputLayer');
    expect(model.layers[1].getClassName()).toBe('Conv2D');
    expect((model.layers[1].outputShape as number[])[3]).toBeGreaterThanOrEqual(4);
    expect(model.layers[25].getClassName()).toBe('ReLU');
    expect(model.layers[25].name).toBe('block7_relu');
    expect(model.layers[25].outputShape).toEqual([null, 3, 3, 256]);
    expect(model.layers[model.layers.length - 1].outputShape).toEqual([null, 1]);
    model.dispose();
  });
});

describe('cnnviz train (CLI)', () => {
  const train = (args: string[]) => runCli(['train', ...args, '--backend', backend]);

  test('bad datasets, flags and outputs are one-line errors naming the problem', async () => {
    const root = tempDir();
    const one = path.join(root, 'one');
    mkdirSync(path.join(one, 'cat'), { recursive: true });
    await stripes(path.join(one, 'cat', 'a.png'), true, Math.random);
    const empty = path.join(root, 'empty');
    mkdirSync(path.join(empty, 'cat'), { recursive: true });
    mkdirSync(path.join(empty, 'dog'), { recursive: true });
    await stripes(path.join(empty, 'cat', 'a.png'), true, Math.random);
    writeFileSync(path.join(empty, 'dog', 'notes.txt'), 'not an image');
    const taken = path.join(root, 'taken');
    mkdirSync(taken);
    writeFileSync(path.join(taken, 'model.json'), '{}');

    const cases: Array<[string[], number, RegExp]> = [
      [[path.join(root, 'nope'), '-o', path.join(root, 'm1')], 2, /dataset folder not found: .*nope/],
      [[one, '-o', path.join(root, 'm2')], 2, /only 1 class folder \(cat\): need at least 2/],
      [[empty, '-o', path.join(root, 'm3')], 2, /class 'dog' in .*empty has no images/],
      [[data, '-o', taken], 2, /output folder .*taken already exists: pass --force/],
      [[data, '-o', path.join(root, 'm4'), '--arch', 'resnet'], 2, /bad --arch 'resnet': choose one of vgg, tiny/],
      [[data, '-o', path.join(root, 'm5'), '--input-size', '100'], 2, /bad --input-size 100: .* multiple of 32/],
      [[data, '-o', path.join(root, 'm6'), '--val-split', '1.5'], 2, /bad --val-split '1.5'/],
    ];
    const results = await Promise.all(cases.map(([args]) => train(args)));
    results.forEach((r, i) => {
      const [, code, message] = cases[i];
      expect({ args: cases[i][0], code: r.code }).toEqual({ args: cases[i][0], code });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
    expect(existsSync(path.join(taken, 'weights.bin'))).toBe(false);
  });

  test('--force replaces the model in an existing output folder', async () => {
    const out = path.join(tempDir(), 'again');
    const args = [data, '-o', out, '--arch', 'tiny', '--input-size', '16', '--epochs', '1', '--batch-size', '8'];
    expect((await train(args)).code).toBe(0);
    const first = readFileSync(path.join(out, 'weights.bin'));
    const refused = await train([...args, '--seed', '2']);
    expect(refused.code).toBe(2);
    expect(readFileSync(path.join(out, 'weights.bin')).equals(first)).toBe(true);
    const forced = await train([...args, '--seed', '2', '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(path.join(out, 'weights.bin')).equals(first)).toBe(false);
    expect(JSON.parse(readFileSync(path.join(out, 'cnnviz.json'), 'utf8')).command).toMatch(/--seed 2 --force/);
  });

  test('unreadable images are skipped and counted; too many of them stop training', async () => {
    const root = tempDir();
    const few = await stripesDataset(path.join(root, 'few'), 12);
    writeFileSync(path.join(few, 'vertical', 'broken.jpg'), 'this is not a JPEG');
    const many = await stripesDataset(path.join(root, 'many'), 6);
    for (let i = 0; i < 3; i++) writeFileSync(path.join(many, 'horizontal', `broken${i}.png`), 'nope');

    const [ok, bad] = await Promise.all([
      train([few, '-o', path.join(root, 'm-few'), '--arch', 'tiny', '--input-size', '16', '--epochs', '1', '--batch-size', '8']),
      train([many, '-o', path.join(root, 'm-many'), '--arch', 'tiny', '--input-size', '16', '--epochs', '1']),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/skipped 1 unreadable image\(s\), e\.g\. .*broken\.jpg/);
    expect(JSON.parse(readFileSync(path.join(root, 'm-few', 'cnnviz.json'), 'utf8')).dataset.skippedUnreadable).toBe(1);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/3 of 15 images are unreadable \(more than 10%\), e\.g\. .*broken0\.png/);
    expect(existsSync(path.join(root, 'm-many'))).toBe(false);
  });

  test('--json prints the history; Ctrl-C stops after the batch and saves the best model so far', async () => {
    const root = tempDir();
    const json = await train([data, '-o', path.join(root, 'j'), '--arch', 'tiny', '--input-size', '16', '--epochs', '1', '--batch-size', '8', '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout.toString());
    expect(report.history).toHaveLength(1);
    expect(report.history[0]).toEqual(expect.objectContaining({ epoch: 1, loss: expect.any(Number), valAccuracy: expect.any(Number) }));
    expect(report.command).toMatch(/^cnnviz train .*stripes -o .*j --arch tiny --input-size 16 --epochs 1 --batch-size 8 --json --backend \w+$/);

    const out = path.join(root, 'interrupted');
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), 'train', data, '-o', out, '--arch', 'tiny', '--input-size', '16', '--epochs', '500', '--batch-size', '8', '--backend', backend], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/epoch 2\/500/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', resolve);
    });
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted: saved the best model so far \(epoch \d\) to .*interrupted/);
    const sidecar = JSON.parse(readFileSync(path.join(out, 'cnnviz.json'), 'utf8'));
    expect(sidecar.stoppedBy).toBe('interrupted');
    expect(sidecar.epochs).toBeLessThan(10);
  });
});
