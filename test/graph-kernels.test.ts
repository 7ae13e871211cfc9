import path from 'node:path';
import sharp from 'sharp';
import { DEPTHWISE_WEIGHTS, writeDepthwiseGraphModel, writeGraphModel } from './helpers/graph-fixture.js';
import { tempDir } from './helpers/models.js';
import { runCli, type CliResult } from './helpers/cli.js';

/** Exit 0, compared with stderr alongside so a failure shows why. */
function succeeded(r: CliResult) {
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
}

const range = (a: ArrayLike<number>) => ({ min: Math.min(...Array.from(a)), max: Math.max(...Array.from(a)) });

describe('kernels and activations on graph models', () => {
  let dir: string;
  let model: string;
  let photo: string;
  beforeAll(async () => {
    dir = tempDir();
    model = writeDepthwiseGraphModel(path.join(dir, 'dw'));
    photo = path.join(dir, 'photo.png');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toFile(photo);
  });

  test('a depthwise node shows one 3x3 filter per input channel, with the weights the graph holds', async () => {
    const r = await runCli(['kernels', '-m', model, '--layer', 'block/depthwise', '--json', '-o', path.join(dir, 'dw.png')]);
    succeeded(r);
    const j = JSON.parse(r.stdout.toString());
    expect(j.kernel).toMatchObject({ height: 3, width: 3, inputs: 1, filters: 3, storedShape: [3, 3, 3, 1] });
    // [3, 3, 3, 1] stores channel c at index p*3 + c.
    j.filters.forEach((f: { filter: number; min: number; max: number }, c: number) => {
      const own = DEPTHWISE_WEIGHTS.depthwise.filter((_, i) => i % 3 === c);
      expect(f).toMatchObject({ filter: c, ...range(own) });
    });
  });

  test('a fused conv (batch norm folded into it) shows its filter; the default layer is the first graph convolution', async () => {
    const r = await runCli(['kernels', '-m', model, '--layer', 'block/pointwise', '--json', '-o', path.join(dir, 'pw.png')]);
    succeeded(r);
    const j = JSON.parse(r.stdout.toString());
    expect(j.layer.className).toBe('_FusedConv2D');
    expect(j.kernel).toMatchObject({ height: 1, width: 1, inputs: 3, filters: 4, storedShape: [1, 1, 3, 4] });
    expect(j.mode).toBe('rgb');
    j.filters.forEach((f: { min: number; max: number }, k: number) => {
      expect(f).toMatchObject(range(DEPTHWISE_WEIGHTS.pointwise.filter((_, i) => i % 4 === k)));
    });
    const first = JSON.parse((await runCli(['kernels', '-m', model, '--json', '-o', path.join(dir, 'first.png')])).stdout.toString());
    expect(first.layer.name).toBe('block/depthwise');
  });

  test('a node that is no convolution lists the graph convolutions', async () => {
    const r = await runCli(['kernels', '-m', model, '--layer', 'head/Mean']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/'head\/Mean' is a Mean, not a convolution: .*\(conv layers: 1 block\/depthwise, 2 block\/pointwise\)/);
  });

  test('the first graph fixture (Conv2D + BiasAdd) shows its kernel too', async () => {
    const edges = writeGraphModel(path.join(dir, 'edges'));
    const r = await runCli(['kernels', '-m', edges, '--json', '-o', path.join(dir, 'edges.png')]);
    succeeded(r);
    expect(JSON.parse(r.stdout.toString()).kernel).toMatchObject({ height: 3, width: 3, inputs: 1, filters: 2 });
  });

  test('a [1, 1, N] output is drawn as the strip of cells a vector gets, not N tiles of 64 px', async () => {
    const out = path.join(dir, 'probs.png');
    const r = await runCli(['activations', photo, '-m', model, '--layer', 'probs', '-o', out]);
    succeeded(r);
    const meta = await sharp(out).metadata();
    // 4 cells of 16 px with 1 px gutters in one row.
    expect([meta.width, meta.height]).toEqual([4 * 17 + 1, 17 + 1]);
  });
});
