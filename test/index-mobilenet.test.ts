import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../src/backend/select.js';
import { listInputs } from '../src/dataset-index/files.js';
import { readTable } from '../src/dataset-index/format.js';
import { openIndex } from '../src/dataset-index/query.js';
import { loadModel } from '../src/model/load.js';
import { layerActivations, loadModelInput } from '../src/model/probe.js';
import { describeWithShared, MOBILENET, ROOT, runCli, SHARED } from './helpers/cli.js';
import { tempDir } from './helpers/models.js';

const VAL = path.join(SHARED, 'data/cats-dogs/val');
const LAYERS = ['conv_pw_3_relu', 'conv_pw_7_relu', 'conv_pw_13_relu'];

describeWithShared('index on the real MobileNet over the 500 cats-dogs val photos', VAL)('index on the real MobileNet over the 500 cats-dogs val photos', () => {
  let work: string;
  let clean: string;
  beforeAll(async () => {
    work = tempDir('cnnviz-index-mobilenet-');
    clean = path.join(work, 'clean');
    const r = await runCli(['index', VAL, '-m', MOBILENET, '--layers', LAYERS.join(','), '-o', clean]);
    expect(r.stderr).toMatch(/indexed 500 photos/);
    expect(r.code).toBe(0);
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('the top 9 of every channel of three layers equal a brute-force forward pass: same photos, order, values and positions (ties by path)', async () => {
    await initBackend('wasm');
    const loaded = await loadModel(MOBILENET);
    const indices = LAYERS.map((n) => loaded.graph.layers.findIndex((l) => l.name === n));
    const files = (await listInputs([VAL])).map((f) => f.abs);
    // Per layer, per photo: each channel's maximum and its first row-major position.
    const brute = LAYERS.map(() => [] as { file: string; max: number[]; at: number[]; width: number }[]);
    for (const file of files) {
      const { tensor } = await loadModelInput(loaded, file);
      const { layers, final } = layerActivations(loaded, tensor, indices);
      tensor.dispose();
      final?.dispose();
      layers.forEach((l, li) => {
        const [h, w, c] = l.shape;
        const max = new Array<number>(c).fill(-Infinity);
        const at = new Array<number>(c).fill(0);
        for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) if (l.maps.values[p * c + k] > max[k]) [max[k], at[k]] = [l.maps.values[p * c + k], p];
        brute[li].push({ file, max, at, width: w });
      });
    }
    const index = await openIndex(path.join(work, 'clean'));
    expect(index.files).toEqual([...files].sort());
    for (const [li, name] of LAYERS.entries()) {
      const channels = brute[li][0].max.length;
      for (let c = 0; c < channels; c++) {
        const want = [...brute[li]]
          .sort((a, b) => b.max[c] - a.max[c] || (a.file < b.file ? -1 : 1))
          .slice(0, 9)
          .map((r) => ({ file: r.file, value: r.max[c], y: Math.floor(r.at[c] / r.width), x: r.at[c] % r.width }));
        expect({ name, c, top: index.rankUnits(name, c, { k: 9 }) }).toEqual({ name, c, top: want });
      }
    }
  }, 600_000);

  test('kill -9 halfway, then a re-run: the same index as a clean run, value for value', async () => {
    const dir = path.join(work, 'killed');
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), 'index', VAL, '-m', MOBILENET, '--layers', LAYERS.join(','), '-o', dir, '--batch', '8'], { stdio: 'ignore' });
    // Half of 500 photos is about 31 chunks of 8.
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        const chunks = existsSync(path.join(dir, 'chunks')) ? readdirSync(path.join(dir, 'chunks')).filter((n) => n.endsWith('.chunk')).length : 0;
        if (chunks >= 31) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(poll);
        reject(new Error('the run ended before it was killed'));
      });
    });
    await new Promise((r) => child.on('exit', r));
    const midway = await openIndex(dir);
    expect(midway.files.length).toBeGreaterThanOrEqual(31 * 8);
    expect(midway.files.length).toBeLessThan(500);
    const r = await runCli(['index', VAL, '-m', MOBILENET, '-o', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`indexed 500 photos into .* \\(${500 - midway.files.length} computed, 0 dropped, 0 failed\\)`));
    const a = (await readTable(dir))!;
    const b = (await readTable(clean))!;
    expect(a.files).toEqual(b.files);
    a.stats.forEach((s, li) => {
      for (const k of ['max', 'mean', 'min', 'argmax', 'argmin'] as const) expect(Buffer.from(s[k].buffer).equals(Buffer.from(b.stats[li][k].buffer))).toBe(true);
    });
  }, 600_000);
});
