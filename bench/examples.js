// Whole-process time of one `examples` query from an index (issue 19: ≤ 0.5 s): node start-up,
// imports, the index's arrays (the index records the receptive field: no model, no tfjs), nine
// crops and the PNG. The index (500 val photos,
// one MobileNet layer) is built once, untimed. Median of 5 runs after one warm-up run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/cnnviz.js');
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');
const VAL = path.resolve(ROOT, '../shared/data/cats-dogs/val');

function run(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (r.status !== 0) throw new Error(r.stderr.trim().split('\n').pop());
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export default async function benchExamples({ runs = 5 } = {}) {
  const label = 'examples --index (500 photos) --layer conv_pw_7_relu --filter 3 (whole command)';
  console.log(`\n## examples: whole process, median of ${runs} runs (load average ${os.loadavg()[0].toFixed(2)}: a busy machine is slower)`);
  console.log('| command | median | min – max | target |');
  console.log('| --- | ---: | ---: | --- |');
  if (!existsSync(MOBILENET) || !existsSync(VAL)) {
    console.log(`| ${label} | skipped | | ${MOBILENET} or ${VAL} is absent (../shared is not beside the project) |`);
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-examples-'));
  try {
    const idx = path.join(dir, 'val.idx');
    run(['index', VAL, '-m', MOBILENET, '--layers', 'conv_pw_7_relu', '-o', idx]);
    const args = ['examples', '--index', idx, '--layer', 'conv_pw_7_relu', '--filter', '3', '-o', path.join(dir, 'ex.png')];
    run(args);
    const times = Array.from({ length: runs }, () => run(args)).sort((a, b) => a - b);
    const median = times[Math.floor(runs / 2)];
    console.log(`| ${label} | ${median.toFixed(3)} s | ${times[0].toFixed(3)} – ${times[runs - 1].toFixed(3)} s | ≤ 0.5 s: ${median <= 0.5 ? 'PASS' : 'MISSED'} |`);
  } catch (err) {
    console.log(`| ${label} | failed | | ${err.message.slice(0, 80)} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchExamples();
