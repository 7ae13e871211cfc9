// Wall-clock time of the whole `activations --layer all` command on the real MobileNet, one
// image, per backend: what a user waits for, start-up and PNG writing included.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');
const CAT = path.resolve(ROOT, '../shared/images/cat.jpg');

function runOnce(backend) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-'));
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), 'activations', CAT, '-m', MOBILENET, '--layer', 'all', '-o', `${out}/`, '--backend', backend, '--verbose'], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) return { backend, error: (r.stderr.split('\n').find((l) => l.startsWith('cnnviz:')) ?? 'failed').replace('cnnviz: ', '') };
  const pass = r.stderr.match(/forward pass, grids \(\d+ Mpx\) and PNGs: (\d+) ms/);
  return { backend, ms, passMs: pass ? Number(pass[1]) : NaN };
}

export default async function benchActivations({ repeats = 3 } = {}) {
  console.log('\n## activations --layer all, MobileNet v1 0.25 (88 layers), one image, whole command');
  if (!existsSync(MOBILENET) || !existsSync(CAT)) {
    console.log(`skipped: ${MOBILENET} or ${CAT} is absent (../shared is not beside the project)`);
    return;
  }
  console.log('| backend | wall-clock (best of %d) | forward pass, grids and PNGs | target |', repeats);
  console.log('| --- | ---: | ---: | --- |');
  for (const backend of ['tensorflow', 'wasm', 'cpu']) {
    const runs = Array.from({ length: repeats }, () => runOnce(backend));
    const failed = runs.find((r) => r.error);
    if (failed) {
      console.log(`| ${backend} | not available | | ${failed.error.slice(0, 70)} |`);
      continue;
    }
    const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
    const target = backend === 'wasm' ? (best.ms < 2000 ? '< 2 s: met' : '< 2 s: MISSED') : '';
    console.log(`| ${backend} | ${(best.ms / 1000).toFixed(2)} s | ${best.passMs} ms | ${target} |`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchActivations();
