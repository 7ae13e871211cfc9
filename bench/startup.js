// Whole-process time of the commands a user types first: how long `cnnviz` takes from start to
// exit, start-up (node, imports, backend, model) included. Median of 5 runs after one untimed
// run that warms the file cache; min and max show how noisy the machine was.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/cnnviz.js');
const CAT = path.join(ROOT, 'examples/cat.jpg');
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');

const ROWS = [
  { label: 'cnnviz --help', args: () => ['--help'], target: 0.15 },
  { label: 'cnnviz --version', args: () => ['--version'], target: 0.15 },
  { label: 'activations examples/cat.jpg --layer 25 (bundled model)', args: (out) => ['activations', CAT, '--layer', '25', '-o', path.join(out, 'maps.png')], target: 0.6 },
  {
    label: 'activations --layer all, MobileNet v1 0.25 (88 PNGs)',
    args: (out) => ['activations', CAT, '-m', MOBILENET, '--layer', 'all', '-o', `${out}/`],
    target: 1.2,
    needs: MOBILENET,
  },
];

function seconds(args) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-'));
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BIN, ...args(out)], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error((r.stderr.split('\n').find((l) => l.startsWith('cnnviz:')) ?? `exit ${r.status}`).replace('cnnviz: ', ''));
    return s;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export default async function benchStartup({ runs = 5 } = {}) {
  console.log(`\n## start-up: whole process, median of ${runs} runs (load average ${os.loadavg()[0].toFixed(2)}: a busy machine is slower)`);
  console.log('| command | median | min – max | target |');
  console.log('| --- | ---: | ---: | --- |');
  for (const row of ROWS) {
    if (row.needs && !existsSync(row.needs)) {
      console.log(`| ${row.label} | skipped | | ${row.needs} is absent (../shared is not beside the project) |`);
      continue;
    }
    try {
      seconds(row.args);
      const times = Array.from({ length: runs }, () => seconds(row.args)).sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      const verdict = median <= row.target ? 'PASS' : 'MISSED';
      console.log(`| ${row.label} | ${median.toFixed(3)} s | ${times[0].toFixed(3)} – ${times[times.length - 1].toFixed(3)} s | ≤ ${row.target} s: ${verdict} |`);
    } catch (err) {
      console.log(`| ${row.label} | failed | | ${err.message.slice(0, 80)} |`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchStartup();
