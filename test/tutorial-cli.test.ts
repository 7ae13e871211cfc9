import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { gridGeometry } from '../src/image/grid.js';
import { DEFAULT_MODEL } from '../src/model/load.js';
import { describeWithShared, MOBILENET, runCli, type CliResult } from './helpers/cli.js';
import { edgeModel, saveModelTo, tempDir, verticalEdgeImage } from './helpers/models.js';

let work: string;
let edgePng: string;
let tutorialPng: string;
let colourPng: string;
let model: string;

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
/** The tutorial's 4x4 max-pool example, as gray levels (each number times 30). */
const TUTORIAL_4X4 = [1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4];

beforeAll(async () => {
  work = tempDir('cnnviz-tutorial-');
  edgePng = path.join(work, 'edge.png');
  await sharp(Buffer.from(verticalEdgeImage(16, 16, 8).map((v) => (v < 100 ? 0 : 255))), { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(edgePng);
  tutorialPng = path.join(work, 'four.png');
  await sharp(Buffer.from(TUTORIAL_4X4.map((v) => v * 30)), { raw: { width: 4, height: 4, channels: 1 } }).png().toFile(tutorialPng);
  colourPng = path.join(work, 'colour.png');
  const px = Buffer.alloc(40 * 30 * 3);
  for (let i = 0; i < 40 * 30; i++) px.set([200, 100, 50], 3 * i);
  await sharp(px, { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(colourPng);
  model = await saveModelTo(edgeModel(), path.join(work, 'edge-model'), { labels: ['left', 'right'], inputRange: [0, 1] });
});

async function pixels(file: string | Buffer) {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels, at: (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x + 1) * info.channels)) };
}

/** Exit 0, compared with stderr alongside so a failure shows why. */
function succeeded(r: CliResult) {
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
}

function json(r: CliResult) {
  succeeded(r);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout.toString());
}

/** A usage error: exit 2, one line on stderr naming what was wrong, nothing on stdout, no file. */
function usageError(r: CliResult, pattern: RegExp) {
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.code).toBe(2);
  expect(r.stdout.length).toBe(0);
}

describe('cnnviz convolve', () => {
  test('the printed output size is the PNG size (with --zoom 1), and sobel-x lights only the edge columns', async () => {
    const out = path.join(work, 'sobel.png');
    const r = await runCli(['convolve', edgePng, '--kernel', 'sobel-x', '-o', out, '--zoom', '1']);
    succeeded(r);
    expect(r.stderr).toMatch(/input 16x16, kernel 3x3, stride 1, padding 0 -> output 14x14/);
    expect(r.stderr).toMatch(/output = \(I \+ 2P - K\)\/S \+ 1 = \(16 \+ 2\*0 - 3\)\/1 \+ 1 = 14/);
    const img = await pixels(out);
    expect([img.width, img.height]).toEqual([14, 14]);
    // Output column x sees input columns x..x+2; the edge is between 7 and 8, so x = 6 and 7.
    for (let y = 0; y < 14; y++) for (let x = 0; x < 14; x++) expect(img.at(x, y)[0]).toBe(x === 6 || x === 7 ? 255 : 0);
  });

  test('--json gives the arithmetic and numbers; stride and padding change the size as the formula says', async () => {
    const out = path.join(work, 'strided.png');
    const j = json(await runCli(['convolve', edgePng, '-k', '1,0,-1;1,0,-1;1,0,-1', '--stride', '2', '--padding', '1', '--activation', 'relu', '-o', out, '--json', '--zoom', '1']));
    expect(j.geometry.width).toMatchObject({ input: 16, kernel: 3, stride: 2, padding: [1, 1], output: 8, exact: false });
    expect(j.geometry.width.formula).toBe('(I + 2P - K)/S + 1 = (16 + 2*1 - 3)/2 + 1 = floor(15/2) + 1 = 8 (1 left over)');
    expect(j.output).toEqual({ width: 8, height: 8, channels: 1 });
    expect(j.png).toEqual({ path: out, width: 8, height: 8 });
    expect(j.kernels[0]).toMatchObject({ name: 'custom', matrix: [[1, 0, -1], [1, 0, -1], [1, 0, -1]], min: 0 });
    expect(j.kernels[0].values).toHaveLength(8);
  });

  test('a typed matrix prints its response; --kernels edges makes a labelled 2x2 grid on stdout', async () => {
    const r = await runCli(['convolve', '--matrix', '0,0,9,9;0,0,9,9;0,0,9,9', '--kernel', 'prewitt-x'], { cwd: work });
    // The default output name follows the input: matrix.<kernel>.png in the working directory.
    expect(r.stderr).toMatch(/\[ 27 27 \]/);
    // A 2x1 response is enlarged 32x, as pool enlarges tiny pictures, so its longer side reaches 64.
    expect(r.stderr).toMatch(/wrote matrix\.prewitt-x\.png \(64x32\)/);
    const grid = await runCli(['convolve', edgePng, '--kernels', 'edges', '-o', '-', '--zoom', '1'], { cwd: work });
    succeeded(grid);
    expect(grid.stdout.subarray(0, 4)).toEqual(PNG_MAGIC);
    const img = await pixels(grid.stdout);
    const g = gridGeometry({ width: 14, height: 14 }, 4, { cols: 2, gutter: 4, labels: ['x'] });
    expect([img.width, img.height]).toEqual([g.width, g.height]);
  });

  test("the help's --matrix example is enlarged to 64 px, each cell the same value as the 1x picture", async () => {
    const args = ['convolve', '--matrix', '0,0,9,9;0,0,9,9;0,0,9,9;0,0,9,9', '--kernel', 'sobel-x', '--padding', '1', '-o', '-'];
    const [zoomed, plain] = await Promise.all([runCli(args), runCli([...args, '--zoom', '1'])]);
    succeeded(zoomed);
    const [big, small] = await Promise.all([pixels(zoomed.stdout), pixels(plain.stdout)]);
    expect([small.width, small.height]).toEqual([4, 4]);
    expect([big.width, big.height]).toEqual([64, 64]);
    // Cell corners carry no printed digit, so they keep the 1x picture's colour.
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) expect(big.at(x * 16, y * 16)).toEqual(small.at(x, y));
  });

  test('impossible geometry and bad flags are one-line usage errors', async () => {
    const cases = await Promise.all([
      runCli(['convolve', '--matrix', '1,2;3,4', '--kernel', 'sobel-x']),
      runCli(['convolve', edgePng, '--stride', '2', '--exact']),
      runCli(['convolve', edgePng, '--kernel', 'sobelx']),
      runCli(['convolve', edgePng, '--padding', 'full']),
      runCli(['convolve', edgePng, '-o', '-', '--json']),
      runCli(['convolve']),
      runCli(['convolve', path.join(work, 'nope.png')]),
      runCli(['convolve', edgePng, '--activation', 'softmax']),
    ]);
    usageError(cases[0], /width: kernel 3 is larger than the padded input 2: \(I \+ 2P - K\)\/S \+ 1 = \(2 \+ 2\*0 - 3\)\/1 \+ 1 = 0 < 1/);
    usageError(cases[1], /\(16 \+ 2\*0 - 3\)\/2 \+ 1 = 7\.50 is not a whole number \(--exact\)/);
    usageError(cases[2], /unknown --kernel 'sobelx': choose one of sobel-x/);
    usageError(cases[3], /bad --padding 'full': expected a number of pixels/);
    usageError(cases[4], /-o - and --json both want stdout/);
    usageError(cases[5], /give an image or --matrix/);
    usageError(cases[6], /image not found: .*nope\.png/);
    usageError(cases[7], /bad --activation 'softmax': choose one of none, relu, sigmoid/);
  });
});

describe('cnnviz pool', () => {
  test("2x2 max pooling with stride 2 on the tutorial's 4x4 image", async () => {
    const out = path.join(work, 'pooled.png');
    const j = json(await runCli(['pool', tutorialPng, '--gray', '--size', '2', '--stride', '2', '-o', out, '--json']));
    expect(j.geometry.width.formula).toBe('(I + 2P - K)/S + 1 = (4 + 2*0 - 2)/2 + 1 = 2');
    expect(j.output.values.flat().map((v: number) => Math.round(v * 255))).toEqual([6, 8, 3, 4].map((v) => v * 30));
    // Tiny inputs are enlarged 16x so the 4x4 picture is visible; the output tile shows the maxima.
    const img = await pixels(out);
    const g = gridGeometry({ width: 64, height: 64 }, 3, { cols: 3, gutter: 4, labels: ['x'] });
    expect([img.width, img.height]).toEqual([g.width, g.height]);
    const o = g.origin(1);
    expect([img.at(o.x + 8, o.y + 8)[0], img.at(o.x + 24, o.y + 8)[0], img.at(o.x + 8, o.y + 24)[0], img.at(o.x + 24, o.y + 24)[0]]).toEqual([180, 240, 90, 120]);
  });

  test('a typed matrix writes each value in its cell, so the white maximum still reads as 8', async () => {
    const out = path.join(work, 'matrix-pool.png');
    succeeded(await runCli(['pool', '--matrix', '1,1,2,4;5,6,7,8;3,2,1,0;1,2,3,4', '-o', out]));
    const img = await pixels(out);
    const g = gridGeometry({ width: 64, height: 64 }, 3, { cols: 3, gutter: 4, labels: ['x'] });
    // The output tile's top-right cell holds the maximum 8: white, with the digit in black.
    const o = g.origin(1);
    const cell: number[] = [];
    for (let y = o.y; y < o.y + 16; y++) for (let x = o.x + 16; x < o.x + 32; x++) cell.push(img.at(x, y)[0]);
    expect(cell.filter((v) => v === 255).length).toBeGreaterThan(cell.length / 2);
    expect(cell.filter((v) => v === 0).length).toBeGreaterThan(10);
    // The empty canvas beside the 2x2 output has no ink.
    const empty: number[] = [];
    for (let y = o.y + 40; y < o.y + 64; y++) for (let x = o.x + 40; x < o.x + 64; x++) empty.push(img.at(x, y)[0]);
    expect(new Set(empty)).toEqual(new Set([255]));
  });

  test('a typed matrix prints input and output; -o - writes the PNG to stdout', async () => {
    const r = await runCli(['pool', '--matrix', '1,1,2,4;5,6,7,8;3,2,1,0;1,2,3,4', '-o', '-']);
    succeeded(r);
    expect(r.stdout.subarray(0, 4)).toEqual(PNG_MAGIC);
    expect(r.stderr).toMatch(/output:\n\s+\[ 6 8 \]\n\s+\[ 3 4 \]/);
    const colour = json(await runCli(['pool', colourPng, '--mode', 'avg', '--size', '3', '-o', path.join(work, 'avg.png'), '--json']));
    expect(colour.output).toMatchObject({ width: 13, height: 10, channels: 3 });
  });

  test('a window larger than the input is a usage error with the formula', async () => {
    const [big, mode] = await Promise.all([runCli(['pool', tutorialPng, '--size', '5']), runCli(['pool', tutorialPng, '--mode', 'min'])]);
    usageError(big, /kernel 5 is larger than the padded input 4: \(I \+ 2P - K\)\/S \+ 1 = \(4 \+ 2\*0 - 5\)\/5 \+ 1/);
    usageError(mode, /bad --mode 'min': choose one of max, avg/);
  });
});

describe('cnnviz channels', () => {
  test('the original and three tinted planes; --json has the channel means', async () => {
    const out = path.join(work, 'planes.png');
    const j = json(await runCli(['channels', colourPng, '--resolution', '4,8', '-o', out, '--json']));
    expect(j.channels.map((c: { mean: number }) => c.mean)).toEqual([200, 100, 50]);
    expect(j.resolutions).toEqual([{ pixels: 4, width: 4, height: 3 }, { pixels: 8, width: 8, height: 6 }]);
    const img = await pixels(out);
    const g = gridGeometry({ width: 40, height: 30 }, 6, { cols: 4, gutter: 4, labels: ['x'] });
    expect([img.width, img.height]).toEqual([g.width, g.height]);
    expect(img.at(g.origin(1).x + 5, g.origin(1).y + 5)).toEqual([200, 0, 0]);
    expect(img.at(g.origin(3).x + 5, g.origin(3).y + 5)).toEqual([0, 0, 50]);
  });

  test('text report, stdout PNG and errors', async () => {
    const [text, stdout, bad, missing] = await Promise.all([
      runCli(['channels', colourPng, '--gray'], { cwd: work }),
      runCli(['channels', colourPng, '-o', '-']),
      runCli(['channels', colourPng, '--resolution', '8,x']),
      runCli(['channels', path.join(work, 'missing.jpg')]),
    ]);
    expect(text.stderr).toMatch(/40x30 = 1200 pixels, 3 channels = 3600 numbers from 0 to 255/);
    expect(text.stderr).toMatch(/green mean 100\.0/);
    expect(existsSync(path.join(work, 'colour.channels.png'))).toBe(true);
    expect(stdout.stdout.subarray(0, 4)).toEqual(PNG_MAGIC);
    usageError(bad, /bad --resolution 'x': expected an integer from 1 to 8192/);
    usageError(missing, /image not found/);
  });
});

describe('cnnviz kernels', () => {
  test('a one-input conv shows one diverging tile per filter; --json has per-filter numbers', async () => {
    const out = path.join(work, 'k.png');
    const j = json(await runCli(['kernels', '-m', model, '--layer', 'edges', '-o', out, '--json']));
    expect(j.layer).toEqual({ index: 0, name: 'edges', className: 'Conv2D' });
    expect(j.kernel).toMatchObject({ height: 3, width: 3, inputs: 1, filters: 2 });
    expect(j.mode).toBe('per-input');
    expect(j.filters[0]).toMatchObject({ filter: 0, min: -2, max: 2, mean: 0 });
    const img = await pixels(out);
    const g = gridGeometry({ width: 48, height: 48 }, 2, { gutter: 4, labels: ['0'] });
    expect([img.width, img.height]).toEqual([g.width, g.height]);
    // Filter 0's left column is negative (blue), its right column positive (red).
    const left = img.at(g.origin(0).x + 4, g.origin(0).y + 24);
    const right = img.at(g.origin(0).x + 44, g.origin(0).y + 24);
    expect(left[2]).toBeGreaterThan(left[0] + 80);
    expect(right[0]).toBeGreaterThan(right[2] + 50);
  });

  test('a non-conv layer names the layer and its class; stdout PNG works', async () => {
    const [pool, stdout, range] = await Promise.all([
      runCli(['kernels', '-m', model, '--layer', 'pool']),
      runCli(['kernels', '-m', model, '-o', '-']),
      runCli(['kernels', '-m', model, '--filters', '5']),
    ]);
    usageError(pool, /layer 1 'pool' is a MaxPooling2D, not a convolution: kernels needs one of Conv2D.*\(conv layers: 0 edges\)/);
    succeeded(stdout);
    expect(stdout.stdout.subarray(0, 4)).toEqual(PNG_MAGIC);
    usageError(range, /filter 5 out of range: layer edges has 2 channels \(0-1\)/);
  });

  (existsSync(DEFAULT_MODEL) ? test : test.skip)('without --model it uses the bundled default model', async () => {
    const j = json(await runCli(['kernels', '-o', path.join(work, 'default.png'), '--json']));
    expect(j.model).toBe(DEFAULT_MODEL);
    expect(j.kernel.filters).toBeGreaterThan(0);
  });
});

describeWithShared('cnnviz kernels on MobileNet', MOBILENET)('cnnviz kernels on MobileNet', () => {
  test('--layer 1 shows 8 RGB tiles of 3x3', async () => {
    const out = path.join(work, 'mobilenet-conv1.png');
    const j = json(await runCli(['kernels', '-m', MOBILENET, '--layer', '1', '-o', out, '--json']));
    expect(j.layer).toEqual({ index: 1, name: 'conv1', className: 'Conv2D' });
    expect(j.kernel).toMatchObject({ height: 3, width: 3, inputs: 3, filters: 8 });
    expect(j.mode).toBe('rgb');
    expect(j.filters).toHaveLength(8);
    const img = await pixels(out);
    // 3x3 kernels enlarged 16x to 48 px tiles, 8 of them in a 3-column grid.
    const g = gridGeometry({ width: 48, height: 48 }, 8, { gutter: 4, labels: ['0'] });
    expect([img.width, img.height, g.cols]).toEqual([g.width, g.height, 3]);
  });
});

describe('cnnviz plot', () => {
  test('a PNG chart of the requested size; the text report has the sample values', async () => {
    const out = path.join(work, 'relu.png');
    const r = await runCli(['plot', 'relu', 'sigmoid', '--width', '400', '--height', '300', '-o', out]);
    succeeded(r);
    expect(r.stderr).toMatch(/relu\(x\) = max\(0, x\):\s+f\(-6\)=0 .* f\(6\)=6/);
    expect(r.stderr).toMatch(/sigmoid\(x\) = 1 \/ \(1 \+ exp\(-x\)\):.* f\(0\)=0\.5/);
    const img = await pixels(out);
    expect([img.width, img.height]).toEqual([400, 300]);
  });

  test('--json, stdout and the bitmap-font fallback when the machine has no fonts', async () => {
    const fonts = path.join(work, 'nofonts');
    mkdirSync(fonts, { recursive: true });
    const conf = path.join(work, 'fonts.conf');
    writeFileSync(conf, `<?xml version="1.0"?><fontconfig><dir>${fonts}</dir><cachedir>${fonts}</cachedir></fontconfig>`);
    const [j, fallback, stdout] = await Promise.all([
      runCli(['plot', 'tanh', '--x-range', '-2,2', '--json', '-o', path.join(work, 'tanh.png')]),
      runCli(['plot', 'relu6', '--json', '-o', path.join(work, 'relu6.png')], { env: { FONTCONFIG_FILE: conf } }),
      runCli(['plot', 'leaky-relu', '-o', '-']),
    ]);
    const tanh = json(j);
    expect(tanh.functions[0].samples).toEqual([-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2].map((x) => ({ x, y: +Math.tanh(x).toPrecision(6) })));
    expect(tanh.text).toBe('svg');
    succeeded(fallback);
    expect(JSON.parse(fallback.stdout.toString()).text).toBe('bitmap');
    expect(stdout.stdout.subarray(0, 4)).toEqual(PNG_MAGIC);
  });

  test('unknown functions and bad ranges are usage errors, and no file is left behind', async () => {
    const dir = path.join(work, 'empty');
    mkdirSync(dir);
    const [fn, range, none] = await Promise.all([
      runCli(['plot', 'relu', 'swish'], { cwd: dir }),
      runCli(['plot', 'relu', '--x-range', '3,1'], { cwd: dir }),
      runCli(['plot'], { cwd: dir }),
    ]);
    usageError(fn, /unknown activation 'swish': choose one of relu, sigmoid, tanh, relu6, leaky-relu/);
    usageError(range, /bad --x-range '3,1': expected two numbers lo,hi with lo < hi/);
    expect(none.code).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });
});

test('every tutorial command has examples and shows its defaults in --help', async () => {
  const helps = await Promise.all(['channels', 'convolve', 'pool', 'kernels', 'plot'].map((c) => runCli([c, '--help'])));
  for (const h of helps) {
    expect(h.stderr).toBe('');
    succeeded(h);
    expect(h.stdout.toString()).toMatch(/Examples:\n\s+\$ cnnviz /);
    expect(h.stdout.toString()).toMatch(/-o, --output <file>\s+PNG file, or '-' for stdout \(default:/);
  }
  expect(helps[1].stdout.toString()).toMatch(/--stride <n>.*\(default: 1\)/);
  expect(helps[2].stdout.toString()).toMatch(/--size <k>.*\(default: 2\)/);
});
