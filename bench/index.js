// `cnnviz index` on the real MobileNet over the 500 cats-dogs val photos, all 13
// conv_pw_N_relu layers, whole command (start-up included): the full run, the index's size on
// disk, and the incremental re-run after 10 photos are added (issue 19's targets).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA = path.resolve(ROOT, '../shared/data');
const MOBILENET = path.join(DATA, 'models/mobilenet-v1-0.25-224');
const VAL = path.join(DATA, 'cats-dogs/val');
const TRAIN_CATS = path.join(DATA, 'cats-dogs/train/cat');
const LAYERS = Array.from({ length: 13 }, (_, i) => `conv_pw_${i + 1}_relu`).join(',');

function index(photos, out) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), 'index', photos, '-m', MOBILENET, '--layers', LAYERS, '-o', out], { encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`index failed: ${r.stderr.trim().split('\n').pop()}`);
  return s;
}

function folderBytes(dir) {
  return readdirSync(dir, { withFileTypes: true }).reduce((a, e) => a + (e.isDirectory() ? folderBytes(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).size), 0);
}

export default async function benchIndex({ repeats = 2 } = {}) {
  console.log('\n## index: MobileNet v1 0.25, 500 val photos, 13 conv_pw_N_relu layers, whole command, worker per core');
  if (![MOBILENET, VAL, TRAIN_CATS].every(existsSync)) {
    console.log(`skipped: ${MOBILENET}, ${VAL} or ${TRAIN_CATS} is absent (../shared is not beside the project)`);
    return;
  }
  const work = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-bench-index-'));
  try {
    const photos = path.join(work, 'photos');
    cpSync(VAL, photos, { recursive: true });
    let full = Infinity;
    let bytes = 0;
    for (let i = 0; i < repeats; i++) {
      const out = path.join(work, `full${i}`);
      full = Math.min(full, index(photos, out));
      bytes = folderBytes(out);
    }
    // The incremental run: 10 more photos in the folder the last full run indexed.
    const extra = readdirSync(TRAIN_CATS).sort().slice(0, 10);
    for (const f of extra) cpSync(path.join(TRAIN_CATS, f), path.join(photos, 'cat', `added-${f}`));
    const inc = index(photos, path.join(work, `full${repeats - 1}`));
    const incTarget = 2 + 0.1 * full;
    console.log('| what | measured | target |');
    console.log('| --- | ---: | --- |');
    console.log(`| full run, 500 photos (best of ${repeats}) | ${full.toFixed(1)} s | ≤ 30 s: ${full <= 30 ? 'met' : 'MISSED'} |`);
    console.log(`| index size on disk | ${(bytes / 1e6).toFixed(1)} MB | ≤ 20 MB: ${bytes <= 20e6 ? 'met' : 'MISSED'} |`);
    console.log(`| re-run after adding 10 photos | ${inc.toFixed(2)} s | ≤ 2 s + 10% of the full run = ${incTarget.toFixed(1)} s: ${inc <= incTarget ? 'met' : 'MISSED'} |`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchIndex();
