import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { UsageError } from '../src/errors.js';
import { readImageBytes } from '../src/image/io.js';
import { refuseTerminalStdin } from '../src/image/stdin.js';
import { saveModel } from '../src/model/save.js';
import { brightnessModel, flatImage, sigmoid } from './helpers/brightness.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/models.js';

let dir: string;
let fixedDir: string;
let sigmoidDir: string;
let freeDir: string;
let white: string;

/** A classifier that takes any image size: 1×1 conv, global average pooling, 2-way softmax. */
function freeSizeModel(): tf.LayersModel {
  const input = tf.input({ shape: [null, null, 3] });
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'mix' }).apply(input) as tf.SymbolicTensor;
  const mean = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(conv) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'head' }).apply(mean) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir();
  fixedDir = path.join(dir, 'fixed');
  sigmoidDir = path.join(dir, 'sigmoid');
  freeDir = path.join(dir, 'free');
  await saveModel(brightnessModel('softmax'), fixedDir, { labels: ['dark', 'bright'], inputRange: [0, 1] });
  await saveModel(brightnessModel('sigmoid'), sigmoidDir, { labels: ['dark', 'bright'], inputRange: [0, 1] });
  await saveModel(freeSizeModel(), freeDir, { labels: ['a', 'b'], inputRange: [0, 1] });
  white = await flatImage(path.join(dir, 'white.png'), 255);
});

describe("'-' reads standard input, never a terminal (issue 15, defect 11)", () => {
  test('a terminal is refused with a usage error that says to pipe an image in', async () => {
    const terminal = Object.assign(Readable.from([]), { isTTY: true });
    await expect(readImageBytes('-', terminal)).rejects.toThrow(UsageError);
    await expect(readImageBytes('-', terminal)).rejects.toThrow(/standard input is a terminal: pipe one in/);
    expect(() => refuseTerminalStdin({ isTTY: true })).toThrow(/cat photo\.jpg \| cnnviz/);
  });

  test('a pipe is read to its end', async () => {
    const bytes = Buffer.from([1, 2, 3, 4, 5]);
    const pipe = Readable.from([bytes.subarray(0, 2), bytes.subarray(2)]);
    expect(await readImageBytes('-', pipe)).toEqual(bytes);
    expect(() => refuseTerminalStdin({ isTTY: undefined })).not.toThrow();
  });
});

describe('top-k is as many classes as there are (issue 15, defect 11)', () => {
  test('activations on a one-unit sigmoid head prints top-2 with both classes, not top-5', async () => {
    const r = await runCli(['activations', white, '-m', sigmoidDir, '--layer', '1', '-o', path.join(dir, 'maps.png')]);
    expect(r.code).toBe(0);
    const p = (100 * sigmoid(2)).toFixed(1);
    const q = (100 - 100 * sigmoid(2)).toFixed(1);
    expect(r.stderr).toMatch(new RegExp(`^top-2: bright ${p}%, dark ${q}%$`, 'm'));
    expect(r.stderr).not.toMatch(/top-5/);
  });

  test('predict --top 5 on a 2-class model shows the 2 classes, and its help says so', async () => {
    const r = await runCli(['predict', white, '-m', sigmoidDir, '--top', '5', '--json']);
    expect(JSON.parse(r.stdout.toString()).predictions.map((x: { label: string }) => x.label)).toEqual(['bright', 'dark']);
    const help = (await runCli(['predict', '--help'])).stdout.toString().replace(/\s+/g, ' ');
    expect(help).toMatch(/--top 5 on a 2-class model shows 2/);
  });
});

describe('--size on a fixed-size model (issue 15, defect 11)', () => {
  test('activations warns in one line that --size is ignored, naming the fixed size', async () => {
    const out = path.join(dir, 'size.png');
    const r = await runCli(['activations', white, '-m', fixedDir, '--layer', '1', '--size', '300', '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: --size 300 ignored: this model takes fixed 8x8 input$/m);
    const meta = await sharp(out).metadata();
    expect(meta.width).toBeGreaterThan(0);
  });

  test('no warning without --size, with the fixed size itself, or on a model that takes any size', async () => {
    const out = path.join(dir, 'nowarn.png');
    const runs = await Promise.all([
      runCli(['activations', white, '-m', fixedDir, '--layer', '1', '-o', out]),
      runCli(['activations', white, '-m', fixedDir, '--layer', '1', '--size', '8', '-o', out]),
      runCli(['activations', white, '-m', freeDir, '--layer', '1', '--size', '16', '-o', out, '--json']),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/warning/);
    }
    // The free-size model really took the 16-px input: its 1×1 conv maps are 16×16.
    expect(JSON.parse(runs[2].stdout.toString()).layers[0].shape).toEqual([16, 16, 2]);
  });
});

describe('animated GIFs: the first frame (issue 15, defect 11)', () => {
  test('predict classifies the first frame only, and the image help says so', async () => {
    const frame = (v: number) => sharp(Buffer.alloc(8 * 8 * 3, v), { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer();
    const [w, b] = await Promise.all([frame(255), frame(0)]);
    const whiteFirst = path.join(dir, 'white-first.gif');
    const blackFirst = path.join(dir, 'black-first.gif');
    writeFileSync(whiteFirst, await sharp([w, b], { join: { animated: true } }).gif().toBuffer());
    writeFileSync(blackFirst, await sharp([b, w], { join: { animated: true } }).gif().toBuffer());
    expect((await sharp(whiteFirst).metadata()).pages).toBe(2);
    const r = await runCli(['predict', whiteFirst, blackFirst, '-m', sigmoidDir, '--top', '1']);
    expect(r.code).toBe(0);
    const p = (100 * sigmoid(2)).toFixed(1);
    expect(r.stdout.toString()).toBe(`${whiteFirst}: bright ${p}%\n${blackFirst}: dark ${p}%\n`);
    for (const command of ['predict', 'activations']) {
      // Help wraps to the terminal's width: compare it with its line breaks folded.
      expect((await runCli([command, '--help'])).stdout.toString().replace(/\s+/g, ' ')).toMatch(/GIF \(first frame only\)/);
    }
  });
});
