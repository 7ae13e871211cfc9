import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { UsageError } from '../src/errors.js';
import { classCount, parseLabels, readLabelsFile, withLabels } from '../src/model/labels.js';
import { loadModel } from '../src/model/load.js';
import { saveModel } from '../src/model/save.js';
import { flatImage, saveBrightnessModels, sigmoid } from './helpers/brightness.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/models.js';

let dir: string;
let softmaxDir: string;
let sigmoidDir: string;
let white: string;
/** Labels files in every accepted shape, all naming the classes [noir, clair]. */
const files = { lines: '', array: '', object: '', keras: '', three: '' };

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir();
  ({ softmaxDir, sigmoidDir } = await saveBrightnessModels(dir));
  white = await flatImage(path.join(dir, 'white.png'), 255);
  mkdirSync(path.join(dir, 'labels'));
  const write = (name: string, text: string) => {
    const file = path.join(dir, 'labels', name);
    writeFileSync(file, text);
    return file;
  };
  Object.assign(files, {
    lines: write('labels.txt', 'noir\r\nclair\n\n'),
    array: write('labels.json', '["noir", "clair"]'),
    object: write('index.json', '{"1": "clair", "0": "noir"}'),
    keras: write('imagenet_class_index.json', '{"0": ["n0", "noir"], "1": ["n1", "clair"]}'),
    three: write('three.txt', 'noir\nclair\ngris\n'),
  });
});

describe('parseLabels / readLabelsFile', () => {
  test('one per line, a JSON array, a JSON {index: label} object and Keras {index: [id, label]} all read as [noir, clair]', async () => {
    for (const file of [files.lines, files.array, files.object, files.keras]) expect(await readLabelsFile(file)).toEqual(['noir', 'clair']);
  });

  test.each([
    ['a\n\nb\n', /empty line 2/],
    ['   \n', /is empty/],
    ['["a", {"x": 1}]', /entry 1 is \{"x":1\}, not a label/],
    ['{"0": "a", "2": "c"}', /key '2' is not a class index 0-1/],
    ['{"zero": "a"}', /key 'zero' is not a class index/],
    ['{"0": "a", "00": "b"}', /has no label for class 1/],
    ['[not json', /is not valid JSON/],
  ])('%j is refused with a line that says why', (text, why) => {
    expect(() => parseLabels(text, 'my-labels')).toThrow(UsageError);
    expect(() => parseLabels(text, 'my-labels')).toThrow(why);
    expect(() => parseLabels(text, 'my-labels')).toThrow(/my-labels/);
  });

  test('a missing labels file is a usage error naming its path', async () => {
    await expect(readLabelsFile(path.join(dir, 'nope.txt'))).rejects.toThrow(/labels file not found: .*nope\.txt/);
    await expect(readLabelsFile(path.join(dir, 'labels'))).rejects.toThrow(/labels path is a folder, not a file: .*labels/);
  });
});

describe('withLabels', () => {
  test('replaces the model labels when the counts agree; a one-unit sigmoid head has two classes', async () => {
    for (const modelDir of [softmaxDir, sigmoidDir]) {
      const loaded = await loadModel(modelDir);
      expect(classCount(loaded)).toBe(2);
      const relabelled = withLabels(loaded, ['noir', 'clair'], 'f');
      expect(relabelled.meta.labels).toEqual(['noir', 'clair']);
      expect(loaded.meta.labels).toEqual(['dark', 'bright']);
      expect(() => withLabels(loaded, ['a', 'b', 'c'], 'three.txt')).toThrow(/--labels three\.txt has 3 labels but model .* has 2 classes/);
      loaded.model.dispose();
    }
  });

  test('a model that does not end in a class vector is refused, with its output shape', async () => {
    const conv = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 2, kernelSize: 3 })] });
    const mapsOnly = path.join(dir, 'maps-only');
    await saveModel(conv, mapsOnly);
    const loaded = await loadModel(mapsOnly);
    expect(classCount(loaded)).toBeUndefined();
    expect(() => withLabels(loaded, ['a', 'b'], 'f.txt')).toThrow(/does not end in a class vector \(its output has shape \[\?, 6, 6, 2\]\)/);
    loaded.model.dispose();
  });
});

describe('--labels on the commands that print or take class names (issue 15, defect 6)', () => {
  const p = (100 * sigmoid(2)).toFixed(1);
  const q = (100 - 100 * sigmoid(2)).toFixed(1);

  test('predict prints the given names, from every file shape', async () => {
    const runs = await Promise.all([files.lines, files.keras].map((f) => runCli(['predict', white, '-m', sigmoidDir, '--labels', f])));
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe(`${white}: clair ${p}%, noir ${q}%\n`);
    }
  });

  test('activations prints them in its top-k line and its --json predictions', async () => {
    const out = path.join(dir, 'maps.png');
    const text = await runCli(['activations', white, '-m', softmaxDir, '--labels', files.array, '--layer', '1', '-o', out]);
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(new RegExp(`^top-2: clair ${p}%, noir ${q}%$`, 'm'));
    const json = await runCli(['activations', white, '-m', sigmoidDir, '--labels', files.object, '--layer', '1', '-o', out, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout.toString()).predictions.map((x: { label: string }) => x.label)).toEqual(['clair', 'noir']);
  });

  test('dream --objective logit --class takes a name from the labels file', async () => {
    const out = path.join(dir, 'dream.png');
    const r = await runCli(['dream', '-m', softmaxDir, '--labels', files.lines, '--objective', 'logit', '--class', 'clair', '--steps', '2', '--seed', '1', '-o', out, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.toString()).filters.map((f: { filter: number }) => f.filter)).toEqual([1]);
    const old = await runCli(['dream', '-m', softmaxDir, '--labels', files.lines, '--objective', 'logit', '--class', 'bright', '--steps', '2', '-o', out]);
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(/unknown class 'bright'.*'noir', 'clair'/);
  });

  test('a count mismatch names both counts and a missing file names its path, exit 2, nothing on stdout', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['predict', white, '-m', sigmoidDir, '--labels', files.three], /--labels .*three\.txt has 3 labels but model .*sigmoid.* has 2 classes/],
      [['activations', white, '-m', softmaxDir, '--labels', files.three, '--layer', '1', '-o', path.join(dir, 'never.png')], /has 3 labels but model .* has 2 classes/],
      [['predict', white, '-m', softmaxDir, '--labels', path.join(dir, 'absent.txt')], /labels file not found: .*absent\.txt/],
      [['dream', '-m', softmaxDir, '--labels', path.join(dir, 'absent.txt'), '--objective', 'logit', '--class', '1'], /labels file not found: .*absent\.txt/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(cases[i][1]);
      expect(r.stdout.length).toBe(0);
    });
  });
});
