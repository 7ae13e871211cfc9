import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../image/io.js';
import { MANIFEST, readManifest, writeManifest, type ReportManifest } from './manifest.js';

async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(dir, r)));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

/**
 * Join report folders made with --shard into one site: each shard's pictures and unit pages,
 * the shared pages (the same in every shard) once, the manifests' artefacts together. A file two
 * shards both hold must have the same bytes (the shared pages, the dataset index); otherwise the
 * shards were made with different settings and the merge is refused.
 */
export function checkReportFolders(shards: string[]): void {
  for (const dir of shards) {
    if (!existsSync(path.join(dir, MANIFEST))) throw new UsageError(`not a report folder: ${dir} has no ${MANIFEST} (make shards with cnnviz report --shard k/n -o ${dir})`);
  }
}

export async function mergeReports(shards: string[], site: string): Promise<{ files: number }> {
  checkReportFolders(shards);
  const artefacts: ReportManifest['artefacts'] = {};
  const from = new Map<string, string>();
  for (const dir of shards) {
    const m = await readManifest(dir);
    for (const [file, key] of Object.entries(m.artefacts)) {
      if (artefacts[file] && artefacts[file] !== key) throw new UsageError(`shards ${from.get(file)} and ${dir} made ${file} from different inputs: make every shard with the same model, seed and steps`);
      artefacts[file] = key;
      from.set(file, dir);
    }
  }
  const written = new Map<string, Buffer>();
  for (const dir of shards) {
    for (const rel of await walk(dir)) {
      if (rel === MANIFEST) continue;
      const bytes = await fs.readFile(path.join(dir, rel));
      const have = written.get(rel);
      if (have) {
        if (!have.equals(bytes)) throw new UsageError(`shards disagree on ${rel} (${dir}): make every shard with the same model, images, layers and settings`);
        continue;
      }
      written.set(rel, bytes);
      await writeFileAtomic(path.join(site, rel), bytes);
    }
  }
  await writeManifest(site, { format: 'cnnviz-report', version: 1, artefacts });
  return { files: written.size };
}
