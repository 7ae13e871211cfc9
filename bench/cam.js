// Wall-clock time of whole `cam` and `saliency` commands on the shared MobileNet, one 224-px
// image, wasm, median of 5: what a user waits for, start-up and PNG writing included. And one
// run of `cam --evaluate` over 200 val photos (its CPU seconds beside the wall-clock).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');
const CAT = path.resolve(ROOT, '../shared/images/cat.jpg');
const VAL = path.resolve(ROOT, '../shared/data/cats-dogs/val');

const CASES = [
  { name: 'cam --method gradcam', args: ['cam', '--method', 'gradcam'], target: 0.8 },
  { name: 'saliency --method smoothgrad (50 samples)', args: ['saliency', '--method', 'smoothgrad', '--samples', '50'], target: 4 },
  { name: 'saliency --method integrated-gradients (64 steps)', args: ['saliency', '--method', 'integrated-gradients', '--steps', '64'], target: 4 },
];

function runOnce(args) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-'));
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), args[0], CAT, ...args.slice(1), '-m', MOBILENET, '-o', path.join(out, 'map.png'), '--backend', 'wasm'], { encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) return { error: (r.stderr.split('\n').find((l) => l.startsWith('cnnviz:')) ?? 'failed').replace('cnnviz: ', '') };
  return { s };
}

export default async function benchCam({ repeats = 5 } = {}) {
  console.log('\n## cam and saliency, MobileNet v1 0.25, one 224-px image, wasm, whole command');
  if (!existsSync(MOBILENET) || !existsSync(CAT)) {
    console.log(`skipped: ${MOBILENET} or ${CAT} is absent (../shared is not beside the project)`);
    return;
  }
  console.log(`| command | wall-clock (median of ${repeats}) | min | target |`);
  console.log('| --- | ---: | ---: | --- |');
  for (const c of CASES) {
    const runs = Array.from({ length: repeats }, () => runOnce(c.args));
    const failed = runs.find((r) => r.error);
    if (failed) {
      console.log(`| ${c.name} | failed | | ${failed.error.slice(0, 70)} |`);
      continue;
    }
    const times = runs.map((r) => r.s).sort((a, b) => a - b);
    const median = times[times.length >> 1];
    console.log(`| ${c.name} | ${median.toFixed(2)} s | ${times[0].toFixed(2)} s | ≤ ${c.target} s: ${median <= c.target ? 'met' : 'MISSED'} |`);
  }
  if (existsSync(VAL)) benchEvaluate();
}

/** `cam --evaluate` on a seeded sample of 200 val photos, Grad-CAM and the baselines, once (it takes minutes). */
function benchEvaluate() {
  const name = 'cam --evaluate, 200 val photos (1 run)';
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), 'cam', '--evaluate', VAL, '--sample', '200', '-m', MOBILENET, '--json', '--backend', 'wasm'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) {
    console.log(`| ${name} | failed | | ${(r.stderr.split('\n').find((l) => l.startsWith('cnnviz:')) ?? 'failed').slice(0, 70)} |`);
    return;
  }
  const cpu = JSON.parse(r.stdout).cpuSeconds;
  console.log(`| ${name} | ${s.toFixed(1)} s (CPU ${cpu.toFixed(0)} s) | | ≤ 180 s: ${s <= 180 ? 'met' : 'MISSED'} |`);
}

if (import.meta.url === `file://${process.argv[1]}`) await benchCam();
