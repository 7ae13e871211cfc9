import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { runCli } from './helpers/cli.js';
import { edgeModel, saveModelTo, tempDir } from './helpers/models.js';

// The foundation's 16x16 gray edge model: conv 'edges' (2 filters) -> pool -> flatten -> dense softmax.
let model: string;
let dir: string;
const FAST = ['--steps', '6', '--seed', '7'];

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('cnnviz-dream-');
  model = await saveModelTo(edgeModel(), path.join(dir, 'edge'), { labels: ['left', 'right'] });
  tf.disposeVariables();
});

describe('cnnviz dream', () => {
  test('--seed 7 twice writes identical PNG bytes to stdout', async () => {
    const [a, b] = await Promise.all([1, 2].map(() => runCli(['dream', '-m', model, '--layer', 'edges', '--filter', '1', ...FAST, '-o', '-'])));
    expect(a.code).toBe(0);
    expect(a.stdout.subarray(1, 4).toString()).toBe('PNG');
    expect(a.stdout.equals(b.stdout)).toBe(true);
    const info = await sharp(a.stdout).metadata();
    expect([info.width, info.height]).toEqual([16, 16]); // the model's fixed 16 px, smaller than the default 128
  });

  test('a sheet with --json, --out-dir and --frames; without --seed the seed used is reported', async () => {
    const out = path.join(dir, 'sheet.png');
    const r = await runCli(['dream', '-m', model, '--layer', '1', '--filters', 'all', '--steps', '4', '--frames', '2', '--out-dir', path.join(dir, 'each'), '-o', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout.toString());
    expect(json.filters.map((f: { filter: number }) => f.filter)).toEqual([0, 1]);
    expect(typeof json.filters[0].objective).toBe('number');
    expect(Number.isInteger(json.seed)).toBe(true);
    expect(json).toMatchObject({ backend: 'wasm', output: out, animation: path.join(dir, 'sheet.webp') });
    expect(json.files).toEqual([0, 1].map((f) => path.join(dir, 'each', `dream.pool.${f}.png`)));
    for (const f of json.files) expect(existsSync(f)).toBe(true);
    const anim = await sharp(readFileSync(json.animation), { animated: true }).metadata();
    expect(anim.pages).toBe(2);
    const sheet = await sharp(out).metadata();
    expect(sheet.width).toBe(2 * 16 + 3 * 2);
  });

  test('--diversity 3 paints one row of three different pictures per filter, guarded by --diversity-keep', async () => {
    const args = ['dream', '-m', model, '--layer', 'edges', '--filters', '0-1', '--diversity', '3', ...FAST, '--json'];
    const [guarded, lucid] = await Promise.all([runCli([...args, '--out-dir', path.join(dir, 'diverse'), '-o', path.join(dir, 'diverse.png')]), runCli([...args, '--diversity-keep', '0', '-o', path.join(dir, 'lucid.png')])]);
    expect([guarded.code, lucid.code]).toEqual([0, 0]);
    expect(JSON.parse(guarded.stdout.toString()).expression).toBe('channel(edges, unit) - 7 * diversity(edges, keep=0.8)');
    expect(JSON.parse(lucid.stdout.toString()).expression).toBe('channel(edges, unit) - 7 * diversity(edges)');
    const sheet = await sharp(path.join(dir, 'diverse.png')).metadata();
    expect(sheet.width).toBe(3 * 16 + 4 * 2);
    // Each filter's three pictures differ from each other.
    const files: string[] = JSON.parse(guarded.stdout.toString()).files;
    expect(files.length).toBe(6);
    const pixels = await Promise.all(files.map((f) => sharp(f).raw().toBuffer()));
    for (const row of [0, 3]) {
      expect(pixels[row].equals(pixels[row + 1])).toBe(false);
      expect(pixels[row + 1].equals(pixels[row + 2])).toBe(false);
    }
  });

  test('batches spread over worker threads give the same bytes as one thread', async () => {
    const args = ['dream', '-m', model, '--layer', 'edges', '--filters', '0-1', '--batch', '1', ...FAST, '-o', '-'];
    const [pooled, single] = await Promise.all([runCli([...args, '--workers', '2']), runCli([...args, '--workers', '1'])]);
    expect([pooled.code, single.code]).toEqual([0, 0]);
    expect(pooled.stdout.equals(single.stdout)).toBe(true);
  });

  test('logit by label, and the Keras baseline flags, run', async () => {
    const [logit, keras] = await Promise.all([
      runCli(['dream', '-m', model, '--objective', 'logit', '--class', 'right', ...FAST, '-o', path.join(dir, 'logit.png')]),
      runCli(['dream', '-m', model, '--layer', 'edges', '--param', 'pixel', '--no-decorrelate', '--transforms', 'none', '--optimizer', 'sgd-l2', '--seed', '1', '-o', path.join(dir, 'keras.png')]),
    ]);
    expect(logit.stderr).toMatch(/wrote .*logit\.png .*logits of head, 6 steps/);
    expect(keras.stderr).toMatch(/wrote .*keras\.png .*edges, 30 steps/);
    expect([logit.code, keras.code]).toEqual([0, 0]);
  });

  test('the bundled one-sigmoid-unit model offers both its classes to --class, by index and by label', async () => {
    const [byIndex, byLabel] = await Promise.all([
      runCli(['dream', '--objective', 'logit', '--class', '1', '--steps', '2', '--seed', '1', '--json', '-o', path.join(dir, 'dog-by-index.png')]),
      runCli(['dream', '--objective', 'logit', '--class', 'cat', '--steps', '2', '--seed', '1', '--json', '-o', path.join(dir, 'cat-by-label.png')]),
    ]);
    expect([byIndex.code, byLabel.code]).toEqual([0, 0]);
    expect(JSON.parse(byIndex.stdout.toString()).filters.map((f: { filter: number }) => f.filter)).toEqual([1]);
    expect(JSON.parse(byLabel.stdout.toString()).filters.map((f: { filter: number }) => f.filter)).toEqual([0]);
  });

  test('default names: channel, neuron and --minimize dreams of one filter, and a list, go to different files', async () => {
    const cwd = tempDir('cnnviz-dream-names-');
    const runs = await Promise.all(
      [[], ['--objective', 'neuron'], ['--objective', 'neuron', '--at', '2,3'], ['--minimize'], ['--filters', '1,0'], ['--filters', '0-1', '--out-dir', 'each', '--minimize']].map((extra) =>
        runCli(['dream', '-m', model, '--layer', 'edges', ...(extra.includes('--filters') ? [] : ['--filter', '1']), ...extra, ...FAST], { cwd }),
      ),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0]);
    const written = ['dream.edges.1.png', 'dream.edges.1.neuron-x8y8.png', 'dream.edges.1.neuron-x2y3.png', 'dream.edges.1.neg.png', 'dream.edges.1_0.png', 'dream.edges.0-1.neg.png', 'each/dream.edges.0.neg.png', 'each/dream.edges.1.neg.png'];
    for (const f of written) expect(existsSync(path.join(cwd, f))).toBe(true);
    expect(readdirSync(cwd).filter((f) => f.endsWith('.png'))).toHaveLength(6);
  });

  test('--size above the model\'s fixed input paints that size and, at fit scale, says in one line what the network sees', async () => {
    const [r, native] = await Promise.all([runCli(['dream', '-m', model, '--layer', 'edges', '--size', '40', '--render-scale', 'fit', ...FAST, '-o', '-']), runCli(['dream', '-m', model, '--layer', 'edges', '--size', '40', ...FAST, '-o', '-'])]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: --size 40: the model takes 16x16 only, .*no detail finer than 16 px/m);
    expect(r.stderr.split('\n').filter((l) => /--size/.test(l))).toHaveLength(1);
    expect((await sharp(r.stdout).metadata()).width).toBe(40);
    // At native scale (the default here) the network sees all 40 px: nothing to warn about.
    expect(native.code).toBe(0);
    expect(native.stderr).toBe('');
    expect((await sharp(native.stdout).metadata()).width).toBe(40);
  });

  test.each([
    [['--layer', 'edges', '--filter', '40'], /filter 40 out of range: layer edges has 2 channels \(0-1\)/],
    [['--layer', 'flat', '--filter', '0'], /--objective channel needs a layer with height, width and channel axes, but flat has output \[128\]: use --objective neuron/],
    [['--objective', 'logit'], /--objective logit needs --class/],
    [['--objective', 'logit', '--class', 'zebra'], /unknown class 'zebra'/],
    [['--param', 'fft', '--optimizer', 'sgd-l2'], /--optimizer sgd-l2 is the Keras baseline on raw pixels: use it with --param pixel --no-decorrelate/],
    [['--objective', 'neuron', '--at', '99,1'], /--at 99,1 is outside edges's 16x16 grid/],
    [['--at', 'middle'], /bad --at 'middle'/],
    [['--filter', '1', '--filters', '0-1'], /--filter and --filters both choose filters/],
    [['--frames', '2', '--animation', 'x.mp4'], /bad --animation 'x.mp4'.*\.webp or \.gif/],
    [['--steps', '0'], /bad --steps '0'/],
    [['--param', 'dct'], /bad --param 'dct': choose one of fft, pixel/],
  ])('usage error %j', async (args, message) => {
    const r = await runCli(['dream', '-m', model, ...(args as string[]), ...FAST, '-o', path.join(dir, 'never.png')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(path.join(dir, 'never.png'))).toBe(false);
  });
});
