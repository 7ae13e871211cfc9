import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { encodePng } from '../src/image/io.js';
import { loadModel } from '../src/model/load.js';
import { saveModel } from '../src/model/save.js';
import { classifyImages } from '../src/train/classify.js';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/models.js';

/**
 * Classifiers whose answer is known exactly: the head sees only the image's mean brightness m
 * (global average pooling of one 1×1 conv that averages the channels).
 *  - softmax: logits (0, 4m - 2) over [dark, bright];
 *  - sigmoid: P(bright) = sigmoid(4m - 2).
 */
function brightnessModel(head: 'softmax' | 'sigmoid'): tf.LayersModel {
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

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

async function flatImage(file: string, value: number): Promise<string> {
  const data = new Uint8Array(8 * 8 * 3).fill(value);
  writeFileSync(file, await encodePng({ data, width: 8, height: 8, channels: 3 }));
  return file;
}

let dir: string;
let softmaxDir: string;
let sigmoidDir: string;
let white: string;
let black: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir();
  softmaxDir = path.join(dir, 'softmax');
  sigmoidDir = path.join(dir, 'sigmoid');
  await saveModel(brightnessModel('softmax'), softmaxDir, { labels: ['dark', 'bright'], inputRange: [0, 1] });
  await saveModel(brightnessModel('sigmoid'), sigmoidDir, { labels: ['dark', 'bright'], inputRange: [0, 1] });
  white = await flatImage(path.join(dir, 'white.png'), 255);
  black = await flatImage(path.join(dir, 'black.png'), 0);
});

describe('saveModel + classifyImages', () => {
  test('a saved model loads back and gives exact probabilities for a softmax and a sigmoid head', async () => {
    for (const [modelDir, pBrightOnWhite] of [
      [softmaxDir, 1 - 1 / (1 + Math.exp(2))],
      [sigmoidDir, sigmoid(2)],
    ] as const) {
      const loaded = await loadModel(modelDir);
      const before = tf.memory().numTensors;
      const [onWhite, onBlack] = await classifyImages(loaded, [white, black], { top: 5 });
      expect(tf.memory().numTensors).toBe(before);
      expect(onWhite.image).toBe(white);
      expect(onWhite.predictions.map((p) => p.label)).toEqual(['bright', 'dark']);
      expect(onWhite.predictions[0].probability).toBeCloseTo(pBrightOnWhite, 5);
      expect(onBlack.predictions[0]).toEqual({ index: 0, label: 'dark', probability: expect.closeTo(pBrightOnWhite, 5) });
      loaded.model.dispose();
    }
  });
});

describe('cnnviz predict (CLI)', () => {
  test('one line per image: top-k labels with percentages', async () => {
    const r = await runCli(['predict', white, black, '-m', sigmoidDir]);
    expect(r.code).toBe(0);
    const p = (100 * sigmoid(2)).toFixed(1);
    const q = (100 - 100 * sigmoid(2)).toFixed(1);
    expect(r.stdout.toString()).toBe(`${white}: bright ${p}%, dark ${q}%\n${black}: dark ${p}%, bright ${q}%\n`);
    const top1 = await runCli(['predict', white, '-m', softmaxDir, '--top', '1']);
    expect(top1.stdout.toString()).toBe(`${white}: bright ${p}%\n`);
  });

  test('--json prints every image with its predictions', async () => {
    const r = await runCli(['predict', white, black, '-m', softmaxDir, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.toString());
    expect(out).toEqual([
      { image: white, predictions: [{ index: 1, label: 'bright', probability: expect.closeTo(sigmoid(2), 5) }, { index: 0, label: 'dark', probability: expect.closeTo(1 - sigmoid(2), 5) }] },
      { image: black, predictions: [{ index: 0, label: 'dark', probability: expect.closeTo(sigmoid(2), 5) }, { index: 1, label: 'bright', probability: expect.closeTo(1 - sigmoid(2), 5) }] },
    ]);
  });

  test('errors name the bad image, model or flag', async () => {
    const mapsOnly = path.join(dir, 'maps-only');
    const conv = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 2, kernelSize: 3 })] });
    await saveModel(conv, mapsOnly);
    const cases: Array<[string[], number, RegExp]> = [
      [['predict', path.join(dir, 'missing.jpg'), '-m', softmaxDir], 2, /image not found: .*missing\.jpg/],
      [['predict', white, '-m', softmaxDir, '--top', '0'], 2, /bad --top '0'/],
      [['predict', white, '-m', path.join(dir, 'nowhere')], 2, /model not found: .*nowhere/],
      [['predict', white, '-m', mapsOnly], 2, /does not end in a classifier: its output has shape \[\?, 6, 6, 2\]/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      expect(r.code).toBe(cases[i][1]);
      expect(r.stderr).toMatch(cases[i][2]);
      expect(r.stdout.length).toBe(0);
    });
  });
});

const DEFAULT = path.join(ROOT, 'models/catsdogs/model.json');
const withDefault = existsSync(DEFAULT) ? describe : describe.skip;
if (!existsSync(DEFAULT)) console.warn(`skipping the bundled-model checks: ${DEFAULT} is not trained yet`);

withDefault('the bundled cats-vs-dogs model', () => {
  test('is used without --model and calls examples/cat.jpg, a close-up of a face, a cat (default centre crop)', async () => {
    const r = await runCli(['predict', 'examples/cat.jpg', 'examples/coffee.jpg', '--json']);
    expect(r.code).toBe(0);
    const [cat, coffee] = JSON.parse(r.stdout.toString());
    expect(cat.predictions[0].label).toBe('cat');
    expect(cat.predictions[0].probability).toBeGreaterThan(0.8);
    expect(coffee.predictions.map((p: { label: string }) => p.label).sort()).toEqual(['cat', 'dog']);
    expect(coffee.predictions[0].probability + coffee.predictions[1].probability).toBeCloseTo(1, 6);
  });
});
