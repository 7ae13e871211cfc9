import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, truncateSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../src/backend/select.js';
import { channelStats, renderFeatureGrid, topChannels } from '../src/image/feature-grid.js';
import { gridGeometry } from '../src/image/grid.js';
import { loadModel } from '../src/model/load.js';
import { layerActivations, loadModelInput } from '../src/model/probe.js';
import { edgeModel, saveModelTo, tempDir, verticalEdgeImage } from './helpers/models.js';
import { ROOT, runCli } from './helpers/cli.js';

let work: string;
let model: string;
let edgePng: string;
const bad = { notJson: '', array: '', other: '', empty: '', noShard: '' };

beforeAll(async () => {
  await initBackend('wasm');
  work = tempDir();
  model = await saveModelTo(edgeModel(), path.join(work, 'edge'), { labels: ['left', 'right'], inputRange: [0, 1] });
  edgePng = path.join(work, 'edge.png');
  // Dark (0) left of column 8, bright from it on: the only place brightness changes.
  const px = verticalEdgeImage(16, 16, 8).map((v) => (v < 100 ? 0 : v));
  await sharp(Buffer.from(px), { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(edgePng);
  // Broken model files, one per loader error.
  const broken = path.join(work, 'broken-models');
  mkdirSync(path.join(broken, 'empty'), { recursive: true });
  mkdirSync(path.join(broken, 'no-shard'));
  Object.assign(bad, {
    notJson: path.join(broken, 'garbage.json'),
    array: path.join(broken, 'array.json'),
    other: path.join(broken, 'other.json'),
    empty: path.join(broken, 'empty'),
    noShard: path.join(broken, 'no-shard'),
  });
  writeFileSync(bad.notJson, 'hello');
  writeFileSync(bad.array, '[1, 2]');
  writeFileSync(bad.other, '{"foo": 1}');
  const shardless = await saveModelTo(edgeModel(), path.join(broken, 'shardless'));
  const json = JSON.parse(readFileSync(shardless, 'utf8'));
  json.weightsManifest[0].paths = ['missing.bin'];
  writeFileSync(path.join(bad.noShard, 'model.json'), JSON.stringify(json));
});

/** A fresh empty folder to run in, so "nothing written" can be checked by listing it. */
function cleanDir(): string {
  const d = path.join(tempDir(), 'run');
  mkdirSync(d);
  return d;
}

describe('cnnviz --help', () => {
  test('lists the subcommands with examples', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    const text = r.stdout.toString();
    expect(text).toMatch(/layers/);
    expect(text).toMatch(/activations/);
    expect(text).toMatch(/Examples:/);
  });

  test.concurrent.each(['layers', 'activations', 'dream', 'train', 'predict', 'channels', 'convolve', 'pool', 'kernels', 'plot'])(
    'every %s option shows its default, and there are examples',
    async (command) => {
      const text = (await runCli([command, '--help'])).stdout.toString();
      // One block per option: its first line starts with "  -", wrapped lines are indented deeper.
      const options = text.split('Options:')[1].split('Examples:')[0].split(/\n(?= {2}-)/).map((b) => b.replace(/\s+/g, ' ').trim()).filter((b) => b.startsWith('-'));
      expect(options.length).toBeGreaterThan(3);
      expect(options.filter((b) => !/--help/.test(b) && !/default/.test(b))).toEqual([]);
      expect(text).toMatch(new RegExp(`\\$ cnnviz ${command}`));
    },
  );

  test('the activations help shows the README command', async () => {
    expect((await runCli(['activations', '--help'])).stdout.toString()).toMatch(/\$ cnnviz activations examples\/cat\.jpg --layer 25/);
  });
});

describe('cnnviz layers', () => {
  test('prints a table with index, name, class, shape, receptive field, stride, params and activation', async () => {
    const r = await runCli(['layers', '-m', model]);
    expect(r.code).toBe(0);
    const text = r.stdout.toString();
    expect(text).toMatch(/^#\s+name\s+class\s+output shape\s+rf\s+stride\s+params\s+activation$/m);
    expect(text).toMatch(/^\s*0\s+edges\s+Conv2D \*\s+\[null, 16, 16, 2\]\s+3\s+1\s+20\s+relu$/m);
    // 3x3 conv then a 2x2 pool: 4 pixels wide, 2 apart; after flatten every unit sees the whole input.
    expect(text).toMatch(/^\s*1\s+pool\s+MaxPooling2D\s+\[null, 8, 8, 2\]\s+4\s+2\s+0$/m);
    expect(text).toMatch(/^\s*2\s+flat\s+Flatten\s+\[null, 128\]\s+all\s+0$/m);
    expect(text).toMatch(/range \[0, 1\] \(cnnviz\.json\)/);
  });

  test('--json prints an array on stdout', async () => {
    const r = await runCli(['layers', '-m', model, '--json']);
    const rows = JSON.parse(r.stdout.toString());
    expect(rows.map((l: { name: string }) => l.name)).toEqual(['edges', 'pool', 'flat', 'head']);
    expect(rows[3]).toMatchObject({ index: 3, className: 'Dense', outputShape: [null, 2], params: 258, activation: 'softmax', isConv: false });
    expect(rows[1].receptiveField).toEqual({ size: [4, 4], stride: [2, 2], global: false });
    expect(rows[3].receptiveField).toEqual({ size: [16, 16], stride: [16, 16], global: true });
  });
});

describe('cnnviz activations', () => {
  test('a vertical-edge kernel lights exactly the tile columns at the edge', async () => {
    const out = path.join(work, 'edges.png');
    const r = await runCli(['activations', edgePng, '-m', model, '--layer', 'edges', '--cmap', 'gray', '--scale', 'channel', '-o', out]);
    expect(r.stderr).toMatch(/wrote/);
    expect(r.code).toBe(0);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    // 16×16 maps enlarged 4× to 64 px tiles; tile 0 is the vertical-edge filter.
    const g = gridGeometry({ width: 64, height: 64 }, 2, { gutter: 2 });
    expect([info.width, info.height]).toEqual([g.width, g.height]);
    const { x: ox, y: oy } = g.origin(0);
    const litColumns = new Set<number>();
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        if (data[((oy + y) * info.width + ox + x) * info.channels] > 0) litColumns.add(Math.floor(x / 4));
      }
    }
    expect([...litColumns].sort((a, b) => a - b)).toEqual([7, 8]);
  });

  test('--json gives per-channel statistics, and the classifier top-2 goes to stderr', async () => {
    const dir = cleanDir();
    const r = await runCli(['activations', edgePng, '-m', model, '--layer', '0,1', '-o', 'maps/', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout.toString());
    expect(json.layers.map((l: { shape: number[] }) => l.shape)).toEqual([[16, 16, 2], [8, 8, 2]]);
    const ch0 = json.layers[0].channels[0];
    expect(ch0.min).toBe(0);
    expect(ch0.max).toBeGreaterThan(3);
    expect(json.predictions.map((p: { label: string }) => p.label).sort()).toEqual(['left', 'right']);
    expect(readdirSync(path.join(dir, 'maps')).sort()).toEqual(['000_edges.png', '001_pool.png']);
  });

  test('the default output name is <image>.<layer>.png in the current folder', async () => {
    const dir = cleanDir();
    const r = await runCli(['activations', edgePng, '-m', model, '--layer', '1'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(readdirSync(dir)).toEqual(['edge.pool.png']);
    expect(r.stderr).toMatch(/top-2: (left|right)/);
  });

  test('-o - writes PNG bytes, and only them, to stdout; - reads the image from stdin', async () => {
    const bytes = await sharp(edgePng).png().toBuffer();
    const r = await runCli(['activations', '-', '-m', model, '--layer', '0', '-o', '-'], { input: bytes });
    expect(r.code).toBe(0);
    const meta = await sharp(r.stdout).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(64);
  });

  test('--top and --channels choose the tiles', async () => {
    const r = await runCli(['activations', edgePng, '-m', model, '--layer', '0', '--top', '1', '-o', '-']);
    const meta = await sharp(r.stdout).metadata();
    expect(meta.width).toBe(64 + 4);
    const r2 = await runCli(['activations', edgePng, '-m', model, '--layer', '0', '--channels', '0-1', '-o', '-']);
    expect((await sharp(r2.stdout).metadata()).width).toBe(2 * 66 + 2);
  });

  test('--layer all: the grids drawn and encoded in worker threads are, pixel for pixel, those drawn in this process', async () => {
    const dir = cleanDir();
    const r = await runCli(['activations', edgePng, '-m', model, '--layer', 'all', '--top', '1', '--scale', 'channel', '--cmap', 'magma', '-o', 'maps/', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout.toString());
    await initBackend('wasm');
    const loaded = await loadModel(model);
    const { tensor } = await loadModelInput(loaded, edgePng);
    const { layers, final } = layerActivations(loaded, tensor, loaded.graph.layers.map((l) => l.index));
    tensor.dispose();
    final?.dispose();
    expect(json.layers).toHaveLength(layers.length);
    for (const [j, act] of layers.entries()) {
      const stats = channelStats(act.maps);
      const shown = topChannels(stats, 1);
      expect(json.layers[j].shown).toEqual(shown);
      json.layers[j].channels.forEach((c: { min: number; max: number }, k: number) => {
        expect(c.min).toBeCloseTo(stats[k].min, 5);
        expect(c.max).toBeCloseTo(stats[k].max, 5);
      });
      const want = renderFeatureGrid(act.maps, { channels: shown, scale: 'channel', cmap: 'magma' });
      const { data, info } = await sharp(path.join(dir, json.layers[j].output)).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([want.width, want.height, 3]);
      expect(Buffer.compare(data, Buffer.from(want.data))).toBe(0);
    }
  });

  test('a Dense output renders as a strip of cells instead of failing', async () => {
    const r = await runCli(['activations', edgePng, '-m', model, '--layer', '-1', '-o', '-']);
    expect(r.code).toBe(0);
    const meta = await sharp(r.stdout).metadata();
    expect(meta.height).toBeLessThan(40);
  });
});

describe('errors: one line, the right exit code, nothing written', () => {
  const cases: Array<[string, () => string[], number, RegExp]> = [
    ['layer index out of range', () => ['activations', edgePng, '-m', model, '--layer', '9'], 2, /layer 9 out of range: model has 4 layers \(0-3/],
    ['unknown layer name', () => ['activations', edgePng, '-m', model, '--layer', 'edgs'], 2, /unknown layer 'edgs': did you mean edges/],
    ['missing image', () => ['activations', 'nope.jpg', '-m', model], 2, /image not found: nope\.jpg/],
    ['missing model', () => ['activations', edgePng, '-m', 'no/such/model.json'], 2, /model not found: no\/such\/model\.json/],
    ['bad --fit', () => ['activations', edgePng, '-m', model, '--fit', 'squash'], 2, /bad --fit 'squash': choose one of cover, contain, fill/],
    ['bad --tile-size', () => ['activations', edgePng, '-m', model, '--tile-size', 'big'], 2, /bad --tile-size 'big'/],
    ['bad --input-range', () => ['activations', edgePng, '-m', model, '--input-range', '1,0'], 2, /bad input range '1,0'/],
    ['unknown option', () => ['activations', edgePng, '--colour'], 2, /unknown option '--colour'/],
    ['channel out of range', () => ['activations', edgePng, '-m', model, '--layer', '0', '--channels', '5'], 2, /channel 5 out of range: layer edges has 2 channels \(0-1\)/],
    ['several layers into one file', () => ['activations', edgePng, '-m', model, '--layer', '0,1', '-o', 'one.png'], 2, /2 layers requested but -o 'one\.png' is one file/],
    ['unknown backend', () => ['layers', '-m', model, '--backend', 'gpu'], 2, /unknown backend 'gpu'/],
    ['tensorflow backend absent', () => ['layers', '-m', model, '--backend', 'tensorflow'], 2, /npm install @tensorflow\/tfjs-node/],
    ['unknown command', () => ['frobnicate'], 2, /unknown command 'frobnicate' \(commands: layers, activations, dream/],
    ['reversed layer range', () => ['activations', edgePng, '-m', model, '--layer', '3-1'], 2, /bad layer range '3-1': start is after end; write it low-high, e.g. 1-3 \(model has 4 layers, 0-3\)/],
    ['output folder is a file', () => ['activations', edgePng, '-m', model, '--layer', '0', '-o', `${edgePng}/x.png`], 2, /cannot write .*edge\.png\/x\.png: .*edge\.png is a file, not a folder/],
    ['model file not JSON', () => ['layers', '-m', bad.notJson], 2, /model file is not JSON: .*garbage\.json/],
    ['model JSON not an object', () => ['layers', '-m', bad.array], 2, /model file .*array\.json holds an array, not a JSON object/],
    ['not a layers model', () => ['layers', '-m', bad.other], 2, /cannot open .*other\.json: not a TF\.js layers model \(no modelTopology\)/],
    ['folder without model.json', () => ['layers', '-m', bad.empty], 2, /no model\.json in folder .*empty/],
    ['weight shard missing', () => ['layers', '-m', bad.noShard], 2, /weight shard missing: .*missing\.bin \(named in .*model\.json\)/],
  ];
  test.concurrent.each(cases)('%s', async (_name, args, code, message) => {
    const dir = cleanDir();
    const r = await runCli(args(), { cwd: dir });
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout.length).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('a truncated shard is a bad input file (exit 2); --verbose adds the stack', async () => {
    const dir = cleanDir();
    const broken = await saveModelTo(edgeModel(), path.join(work, 'broken'));
    truncateSync(path.join(work, 'broken', 'weights.bin'), 100);
    const r = await runCli(['activations', edgePng, '-m', broken], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/weight shard size mismatch: .*weights\.bin holds 100 bytes/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const v = await runCli(['activations', edgePng, '-m', broken, '--verbose'], { cwd: dir });
    expect(v.stderr).toMatch(/\n\s+at /);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('a file that is not an image is named', async () => {
    const txt = path.join(work, 'notes.txt');
    writeFileSync(txt, 'hello');
    const r = await runCli(['activations', txt, '-m', model]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot decode .*notes\.txt/);
    expect(existsSync(path.join(work, 'notes.edges.png'))).toBe(false);
  });

  test('a truncated JPEG is refused by name instead of decoding half a picture', async () => {
    const whole = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 40, b: 40 } } }).jpeg().toBuffer();
    const cut = path.join(work, 'cut.jpg');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const dir = cleanDir();
    const r = await runCli(['activations', cut, '-m', model], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot decode .*cut\.jpg: .*premature end/);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('stdout that fails: a full disk is one line and exit 1; a reader that stops early is no error', () => {
    const bin = path.join(ROOT, 'bin/cnnviz.js');
    const full = spawnSync(process.execPath, [bin, 'layers', '-m', model, '--json'], { stdio: ['ignore', openSync('/dev/full', 'w'), 'pipe'], encoding: 'utf8' });
    expect(full.status).toBe(1);
    expect(full.stderr.trim().split('\n')).toEqual(['cnnviz: cannot write to standard output: ENOSPC']);
    // A PNG larger than a pipe's buffer, read for one byte: the write fails with EPIPE.
    const head = spawnSync('bash', ['-c', `"${process.execPath}" "${bin}" activations "${edgePng}" -m "${model}" --tile-size 512 -o - | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    expect(head.stdout.trim()).toBe('0');
    expect(head.stderr).not.toMatch(/EPIPE|\n\s+at /);
  });

  test('-o naming an existing folder is a usage error that says so', async () => {
    const dir = cleanDir();
    // (activations takes a folder as -o and writes NNN_<layer>.png files into it; channels does not.)
    const r = await runCli(['channels', edgePng, '-o', '.'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/output \. is a folder: give a file name inside it/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
