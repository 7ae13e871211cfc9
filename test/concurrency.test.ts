// Eight cnnviz processes writing dream sheets and activation maps into one folder at once, some
// under the same file names: every file any of them reports is there, whole, and nothing else is
// (no temp file of one process is renamed or removed by another).
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/models.js';

const CAT = path.join(ROOT, 'examples/cat.jpg');
const COFFEE = path.join(ROOT, 'examples/coffee.jpg');

test('8 processes writing into one folder lose nothing, and every file is a whole PNG', async () => {
  const cwd = tempDir();
  mkdirSync(path.join(cwd, 'out'));
  const dream = (seed: number, output: string, extra: string[] = []) => ['dream', '--layer', 'base/conv_pw_1_relu', '--filters', '0-3', '--batch', '4', '--steps', '2', '--size', '24', '--seed', String(seed), '-o', output, '--json', ...extra];
  const jobs = [
    // Same names: two identical dreams, sheet and per-filter files alike.
    dream(1, 'out/sheet.png', ['--out-dir', 'out/']),
    dream(1, 'out/sheet.png', ['--out-dir', 'out/']),
    dream(3, 'out/sheet-3.png'),
    dream(4, 'out/sheet-4.png'),
    // Same names: twelve layers, twice.
    ['activations', CAT, '--layer', '1-12', '--tile-size', '16', '-o', 'out/', '--json'],
    ['activations', CAT, '--layer', '1-12', '--tile-size', '16', '-o', 'out/', '--json'],
    ['activations', CAT, '--layer', '1', '-o', 'out/act-7.png', '--json'],
    ['activations', COFFEE, '--layer', '2', '-o', 'out/act-8.png', '--json'],
  ];
  const results = await Promise.all(jobs.map((args) => runCli(args, { cwd })));

  const reported = new Set<string>();
  for (const r of results) {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout.toString());
    const files: string[] = json.layers ? json.layers.map((l: { output: string }) => l.output) : [json.output, ...json.files];
    for (const f of files) reported.add(path.normalize(f));
  }
  // 3 sheets + 4 per-filter dreams + 2 single maps + 12 layer maps.
  expect(reported.size).toBe(3 + 4 + 2 + 12);
  const onDisk = readdirSync(path.join(cwd, 'out')).map((f) => path.join('out', f));
  expect(onDisk.sort()).toEqual([...reported].sort());
  for (const f of onDisk) {
    const { info } = await sharp(path.join(cwd, f), { failOn: 'truncated' }).raw().toBuffer({ resolveWithObject: true });
    expect(info.width * info.height).toBeGreaterThan(0);
  }
}, 180_000);
