// The 16-filter conv_pw_7_relu dream sheet on MobileNet at the defaults (fft, decorrelated,
// standard transforms, 512 steps, 128 px), whole command, in one run:
//   - cnnviz at native render scale (the default): issue 16's target is <= 20 s on 2 cores;
//   - cnnviz at --render-scale fit: no slower than the build before issue 16, timed in the same
//     run when CNNVIZ_BENCH_BASELINE=<other checkout>/bin/cnnviz.js names it (the two are
//     interleaved A/B/A/B, so a load that comes and goes hits both alike);
//   - the PyTorch CPU reference of the same algorithm at native scale (../shared/tools/torch-reference),
//     when /usr/bin/python3 has torch.
// Each is the median of CNNVIZ_BENCH_RUNS runs (default 3; the reference runs once: it is the
// slow one). CNNVIZ_BENCH_DREAM_STEPS=32 gives a quick check, with the times scaled to 512 steps
// for the targets.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(ROOT, '../shared');
const MOBILENET = path.join(SHARED, 'data/models/mobilenet-v1-0.25-224');
const TORCH_REFERENCE = path.join(SHARED, 'tools/torch-reference/lucid_torch.py');
const PYTHON = '/usr/bin/python3';
const STEPS = Number(process.env.CNNVIZ_BENCH_DREAM_STEPS ?? 512);
const RUNS = Number(process.env.CNNVIZ_BENCH_RUNS ?? 3);
const BASELINE = process.env.CNNVIZ_BENCH_BASELINE ? path.resolve(process.env.CNNVIZ_BENCH_BASELINE) : undefined;
const NATIVE_TARGET_S = 20;
// "No slower" allows this much run-to-run noise on a shared machine.
const FIT_NOISE = 1.05;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const firstError = (stderr) => (stderr.split('\n').find((l) => l.startsWith('cnnviz:')) ?? stderr.trim().split('\n').pop() ?? 'failed').replace('cnnviz: ', '');

/** One dream sheet by a cnnviz build: wall-clock of the whole command and its optimization time. */
function cnnvizOnce(bin, extra) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-dream-'));
  const args = ['dream', '-m', MOBILENET, '--layer', 'conv_pw_7_relu', '--filters', '0-15', '--steps', String(STEPS), '--seed', '7', '-o', path.join(out, 'sheet.png'), '--backend', 'wasm', '--json', ...extra];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) return { error: firstError(r.stderr) };
  const json = JSON.parse(r.stdout);
  return { ms, optMs: json.seconds * 1000, workers: json.workers ?? 1, renderScale: json.settings?.renderScale ?? 'fit (before --render-scale)' };
}

/** The PyTorch reference at native scale, or why it can't run here. */
function torchOnce() {
  if (!existsSync(TORCH_REFERENCE)) return { error: `${TORCH_REFERENCE} is absent` };
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { error: `${PYTHON} has no torch (apt-get install python3-torch)` };
  const out = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-torch-'));
  const args = [TORCH_REFERENCE, '--model', MOBILENET, '--layer', 'conv_pw_7_relu', '--filters', '0-15', '--steps', String(STEPS), '--batch', '16', '--threads', '2', '--seed', '1', '--out', out];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(PYTHON, args, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) return { error: (r.stderr.trim().split('\n').pop() ?? 'failed').slice(0, 100) };
  // "optimization: 52.1 ms/step (512 steps, batch 16), 26.68 s; total ..."
  const m = r.stdout.match(/optimization: ([\d.]+) ms\/step .*?, ([\d.]+) s;/);
  return { ms, optMs: m ? Number(m[2]) * 1000 : NaN, perStep: m ? Number(m[1]) : NaN, workers: 1 };
}

/** Median of the successful runs; the first error when none succeeded. */
function summary(runs) {
  const ok = runs.filter((r) => !r.error);
  if (!ok.length) return runs[0];
  return { ms: median(ok.map((r) => r.ms)), optMs: median(ok.map((r) => r.optMs)), perStep: median(ok.map((r) => r.perStep ?? r.optMs / STEPS)), workers: ok[0].workers, runs: ok.length };
}

export default async function benchDream() {
  console.log(`\n## dream --layer conv_pw_7_relu --filters 0-15, MobileNet v1 0.25, ${STEPS} steps, 128 px, whole command (median of ${RUNS})`);
  if (!existsSync(MOBILENET)) {
    console.log(`skipped: ${MOBILENET} is absent (../shared is not beside the project)`);
    return;
  }
  console.log(`cores: ${os.availableParallelism?.() ?? os.cpus().length}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const ours = path.join(ROOT, 'bin/cnnviz.js');
  const runs = { native: [], fit: [], baseline: [] };
  for (let i = 0; i < RUNS; i++) {
    runs.native.push(cnnvizOnce(ours, ['--render-scale', 'native']));
    runs.fit.push(cnnvizOnce(ours, ['--render-scale', 'fit']));
    // The build before --render-scale knows no such flag: it always renders at fit scale.
    if (BASELINE) runs.baseline.push(cnnvizOnce(BASELINE, []));
  }
  const native = summary(runs.native);
  const fit = summary(runs.fit);
  const baseline = BASELINE ? summary(runs.baseline) : undefined;
  const torch = torchOnce();

  const at512 = (ms) => (ms / 1000) * (512 / STEPS);
  const scaled = STEPS !== 512 ? ` (scaled from ${STEPS} steps)` : '';
  const targets = {
    native: native.error ? '' : `<= ${NATIVE_TARGET_S} s at 512 steps: ${at512(native.ms) <= NATIVE_TARGET_S ? 'met' : 'MISSED'} (~${at512(native.ms).toFixed(1)} s${scaled})`,
    fit: fit.error ? '' : !baseline ? 'no slower than the build before: set CNNVIZ_BENCH_BASELINE=<checkout>/bin/cnnviz.js to time it here' : baseline.error ? '' : `no slower than the baseline (x${FIT_NOISE} noise): ${fit.ms <= baseline.ms * FIT_NOISE ? 'met' : 'MISSED'} (${(fit.ms / baseline.ms).toFixed(2)}x)`,
    baseline: '',
    torch: torch.error ? '' : `the reference to beat: ${native.error ? '' : `cnnviz native is ${(torch.ms / native.ms).toFixed(2)}x faster`}`,
  };
  const rows = [
    ['cnnviz, native render scale (default)', native, targets.native],
    ['cnnviz, --render-scale fit (resized to 224)', fit, targets.fit],
    ...(baseline ? [[`baseline build, fit (${BASELINE})`, baseline, targets.baseline]] : []),
    ['PyTorch CPU reference, native, 2 threads (one run)', torch, targets.torch],
  ];
  console.log('| what | wall-clock | optimization | per step (16 pictures) | workers | target |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const [what, r, target] of rows) {
    if (r.error) {
      console.log(`| ${what} | skipped | | | | ${r.error.slice(0, 90)} |`);
      continue;
    }
    console.log(`| ${what} | ${(r.ms / 1000).toFixed(1)} s | ${(r.optMs / 1000).toFixed(1)} s | ${r.perStep.toFixed(1)} ms | ${r.workers} | ${target} |`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDream();
