// `cnnviz report` on the shared MobileNet over the 500 cats-dogs val photos (issue 21):
// the report (layers conv_pw_7_relu, conv_pw_11_relu, conv_pw_13_relu: 512 units,
// 256-step dreams, the dream, the negative dream and a diversity row of 3 per unit; target
// ≤ 45 min on 2 cores) runs with CNNVIZ_BENCH_REPORT=full. By default a reduced report (one
// layer, 16 units, same dreams) is timed, with the index of the 3 layers timed on its own, and
// the full time is extrapolated: index + (reduced - its own index) x 512/16 dreams. Then the
// re-run with nothing changed (target ≤ 10 s).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/cnnviz.js');
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');
const VAL = path.resolve(ROOT, '../shared/data/cats-dogs/val');
const LAYERS = 'conv_pw_7_relu,conv_pw_11_relu,conv_pw_13_relu';

function run(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr.trim().split('\n').pop());
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const fmt = (s) => (s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`);

export default async function benchReport({ full = process.env.CNNVIZ_BENCH_REPORT === 'full', units = 16 } = {}) {
  console.log(`\n## report: whole process (load average ${os.loadavg()[0].toFixed(2)}: a busy machine is slower)`);
  console.log('| run | time | target |');
  console.log('| --- | ---: | --- |');
  if (!existsSync(MOBILENET) || !existsSync(VAL)) {
    console.log(`| report | skipped | ${MOBILENET} or ${VAL} is absent (../shared is not beside the project) |`);
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-report-'));
  try {
    const site = path.join(dir, 'site');
    if (full) {
      const args = ['report', '-m', MOBILENET, '--images', VAL, '--layers', LAYERS, '--steps', '256', '-o', site];
      const t = run(args);
      console.log(`| 3 layers, 512 units, 256 steps, 500 photos | ${fmt(t)} | ≤ 45 min: ${t <= 2700 ? 'PASS' : 'MISSED'} |`);
      const again = run(args);
      console.log(`| the same, re-run with nothing changed | ${fmt(again)} | ≤ 10 s: ${again <= 10 ? 'PASS' : 'MISSED'} |`);
      return;
    }
    const index = run(['index', VAL, '-m', MOBILENET, '--layers', LAYERS, '-o', path.join(dir, 'idx')]);
    console.log(`| index of 500 photos, 3 layers (part of the full report) | ${fmt(index)} | |`);
    const ownIndex = run(['index', VAL, '-m', MOBILENET, '--layers', 'conv_pw_7_relu', '-o', path.join(dir, 'idx1')]);
    const args = ['report', '-m', MOBILENET, '--images', VAL, '--layers', 'conv_pw_7_relu', '--units', `0-${units - 1}`, '--steps', '256', '-o', site];
    const t = run(args);
    console.log(`| conv_pw_7_relu, ${units} units, 256 steps, 500 photos | ${fmt(t)} | |`);
    const perUnit = Math.max(0, t - ownIndex) / units;
    const estimate = index + perUnit * 512;
    console.log(`| 512 units (the issue's 3 layers), extrapolated: index + ${perUnit.toFixed(1)} s x 512 units | ${fmt(estimate)} | ≤ 45 min: ${estimate <= 2700 ? 'PASS' : 'MISSED'} (estimate) |`);
    const again = run(args);
    console.log(`| the reduced report re-run with nothing changed | ${fmt(again)} | ≤ 10 s: ${again <= 10 ? 'PASS' : 'MISSED'} |`);
  } catch (err) {
    console.log(`| report | failed | ${err.message.slice(0, 100)} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchReport();
