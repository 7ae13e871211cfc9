import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { loadModel } from '../src/model/load.js';
import { saveModel } from '../src/model/save.js';
import { classifyEach, classifyImages } from '../src/train/classify.js';
import { flatImage, saveBrightnessModels, sigmoid } from './helpers/brightness.js';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/models.js';

let dir: string;
let softmaxDir: string;
let sigmoidDir: string;
let white: string;
let black: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir();
  ({ softmaxDir, sigmoidDir } = await saveBrightnessModels(dir));
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

  test('--json prints JSON Lines: one object per image, in order', async () => {
    const r = await runCli(['predict', white, black, '-m', softmaxDir, '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.toString().split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { image: white, predictions: [{ index: 1, label: 'bright', probability: expect.closeTo(sigmoid(2), 5) }, { index: 0, label: 'dark', probability: expect.closeTo(1 - sigmoid(2), 5) }] },
      { image: black, predictions: [{ index: 0, label: 'dark', probability: expect.closeTo(sigmoid(2), 5) }, { index: 1, label: 'bright', probability: expect.closeTo(1 - sigmoid(2), 5) }] },
    ]);
  });

  test('errors name the bad image, model or flag', async () => {
    const mapsOnly = path.join(dir, 'maps-only');
    const conv = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 2, kernelSize: 3 })] });
    await saveModel(conv, mapsOnly);
    const cases: Array<[string[], number, RegExp]> = [
      [['predict', path.join(dir, 'missing.jpg'), '-m', softmaxDir], 1, /^cnnviz: .*missing\.jpg: image not found\n$/],
      [['predict', white, '-', '-', '-m', softmaxDir], 2, /'-' given more than once/],
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

describe('many images: a bad file costs only its own result (issue 15, defect 3)', () => {
  let notImage: string;
  let missing: string;
  let empty: string;
  beforeAll(() => {
    notImage = path.join(dir, 'notes.jpg');
    writeFileSync(notImage, 'not a picture');
    empty = path.join(dir, 'empty.png');
    writeFileSync(empty, '');
    missing = path.join(dir, 'missing.png');
  });

  test('classifyEach yields every image in order; a bad one does not sink the good ones of its batch', async () => {
    const loaded = await loadModel(softmaxDir);
    const before = tf.memory().numTensors;
    const settled: Array<{ input: string; ok: boolean; value?: unknown; error?: unknown }> = [];
    for await (const s of classifyEach(loaded, [white, notImage, black, missing, empty, white], { top: 1, batchSize: 4 })) settled.push(s);
    expect(tf.memory().numTensors).toBe(before);
    expect(settled.map((s) => [s.input, s.ok])).toEqual([
      [white, true],
      [notImage, false],
      [black, true],
      [missing, false],
      [empty, false],
      [white, true],
    ]);
    const p = sigmoid(2);
    expect(settled[0].value).toEqual([{ index: 1, label: 'bright', probability: expect.closeTo(p, 5) }]);
    expect(settled[2].value).toEqual([{ index: 0, label: 'dark', probability: expect.closeTo(p, 5) }]);
    expect(settled[5].value).toEqual(settled[0].value);
    expect(String((settled[3] as { error: Error }).error.message)).toMatch(/image not found: .*missing\.png/);
    // The all-or-nothing wrapper keeps its contract for library callers: the first bad image throws.
    await expect(classifyImages(loaded, [white, notImage], { top: 1 })).rejects.toThrow(/notes\.jpg/);
    loaded.model.dispose();
  });

  test('CLI: a line per good image on stdout, one line per bad image on stderr, exit 1', async () => {
    const r = await runCli(['predict', white, notImage, black, missing, '-m', sigmoidDir, '--top', '1']);
    expect(r.code).toBe(1);
    const p = (100 * sigmoid(2)).toFixed(1);
    expect(r.stdout.toString()).toBe(`${white}: bright ${p}%\n${black}: dark ${p}%\n`);
    const errors = r.stderr.trimEnd().split('\n');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(new RegExp(`^cnnviz: ${notImage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot decode: not an image`));
    expect(errors[1]).toBe(`cnnviz: ${missing}: image not found`);
  });

  test('CLI --json: JSON Lines, {image, error} for a bad image, in input order', async () => {
    const r = await runCli(['predict', notImage, white, missing, '-m', softmaxDir, '--json', '--top', '1']);
    expect(r.code).toBe(1);
    const objects = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(objects).toEqual([
      { image: notImage, error: expect.stringMatching(/^cannot decode: not an image/) },
      { image: white, predictions: [{ index: 1, label: 'bright', probability: expect.closeTo(sigmoid(2), 5) }] },
      { image: missing, error: 'image not found' },
    ]);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(2);
  });

  test('every image bad: exit 1 and nothing on stdout; a bad flag is still a usage error (exit 2) before any image', async () => {
    const all = await runCli(['predict', notImage, missing, '-m', softmaxDir]);
    expect(all.code).toBe(1);
    expect(all.stdout.length).toBe(0);
    expect(all.stderr.trimEnd().split('\n')).toHaveLength(2);
    const flag = await runCli(['predict', white, missing, '-m', softmaxDir, '--fit', 'squash']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/bad --fit 'squash'/);
    expect(flag.stderr).not.toMatch(/missing/);
  });
});

// `script` gives the child a pseudo-terminal for its standard input, as a person typing would.
const hasScript = spawnSync('script', ['--version']).status === 0;
(hasScript ? describe : describe.skip)("'-' on a terminal (issue 15, defect 11)", () => {
  test.each([
    ['predict', ['predict', '-']],
    ['activations', ['activations', '-', '--layer', '1']],
  ])('%s - with a terminal on stdin is refused at once (exit 2), not a silent wait', (_name, args) => {
    const cmd = [process.execPath, path.join(ROOT, 'bin/cnnviz.js'), ...args, '-m', sigmoidDir].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: dir, timeout: 20_000, env: { ...process.env, NO_COLOR: '1', CNNVIZ_BACKEND: 'wasm' } });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    expect(r.stdout.toString()).toMatch(/standard input is a terminal: pipe one in/);
  });
});

const DEFAULT = path.join(ROOT, 'models/catsdogs/model.json');
const withDefault = existsSync(DEFAULT) ? describe : describe.skip;
if (!existsSync(DEFAULT)) console.warn(`skipping the bundled-model checks: ${DEFAULT} is not trained yet`);

withDefault('the bundled cats-vs-dogs model', () => {
  test('is used without --model and calls examples/cat.jpg, a close-up of a face, a cat (default centre crop)', async () => {
    const r = await runCli(['predict', 'examples/cat.jpg', 'examples/coffee.jpg', '--json']);
    expect(r.code).toBe(0);
    const [cat, coffee] = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(cat.predictions[0].label).toBe('cat');
    expect(cat.predictions[0].probability).toBeGreaterThan(0.8);
    expect(coffee.predictions.map((p: { label: string }) => p.label).sort()).toEqual(['cat', 'dog']);
    expect(coffee.predictions[0].probability + coffee.predictions[1].probability).toBeCloseTo(1, 6);
  });
});
