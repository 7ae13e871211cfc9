// Wall-clock of the 16-filter conv_pw_7_relu dream sheet on MobileNet at the defaults (fft,
// decorrelated, standard transforms, 512 steps, 128 px), per backend: the issue-4 speed target
// is <= 60 s on wasm with 2 cores. CNNVIZ_BENCH_DREAM_STEPS=64 gives a quicker, scaled estimate.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');
const STEPS = Number(process.env.CNNVIZ_BENCH_DREAM_STEPS ?? 512);

function runOnce(backend) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-dream-'));
  const args = ['dream', '-m', MOBILENET, '--layer', 'conv_pw_7_relu', '--filters', '0-15', '--steps', String(STEPS), '--seed', '7', '-o', path.join(out, 'sheet.png'), '--backend', backend, '--json'];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), ...args], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) return { backend, error: (r.stderr.split('\n').find((l) => l.startsWith('cnnviz:')) ?? 'failed').replace('cnnviz: ', '') };
  const json = JSON.parse(r.stdout);
  return { backend, ms, dreamSeconds: json.seconds, workers: json.workers ?? 1 };
}

export default async function benchDream({ backends = ['wasm'] } = {}) {
  console.log(`\n## dream --layer conv_pw_7_relu --filters 0-15, MobileNet v1 0.25, ${STEPS} steps, whole command`);
  if (!existsSync(MOBILENET)) {
    console.log(`skipped: ${MOBILENET} is absent (../shared is not beside the project)`);
    return;
  }
  console.log(`cores: ${os.availableParallelism?.() ?? os.cpus().length}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('| backend | wall-clock | optimization | workers | per step (16 pictures) | target |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const backend of backends) {
    const r = runOnce(backend);
    if (r.error) {
      console.log(`| ${backend} | not available | | | | ${r.error.slice(0, 70)} |`);
      continue;
    }
    const at512 = (r.ms / 1000) * (512 / STEPS);
    const target = backend === 'wasm' ? `<= 60 s at 512 steps: ${at512 <= 60 ? 'met' : 'MISSED'}${STEPS !== 512 ? ` (scaled from ${STEPS}: ~${at512.toFixed(0)} s)` : ''}` : '';
    console.log(`| ${backend} | ${(r.ms / 1000).toFixed(1)} s | ${r.dreamSeconds.toFixed(1)} s | ${r.workers} | ${((1000 * r.dreamSeconds) / STEPS).toFixed(0)} ms | ${target} |`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDream();
