import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../image/io.js';

/** The file in a site folder that says which artefact was made from what. */
export const MANIFEST = 'report.json';

/**
 * What a report knows about the pictures it has written: for each file (relative to the site),
 * the key of its inputs (the command with its seed, and the model's fingerprint). A file that
 * is present with the same key is not made again. Written atomically after every artefact, with
 * sorted keys and no times, so a resumed run and a clean run leave the same bytes.
 */
export interface ReportManifest {
  format: 'cnnviz-report';
  version: 1;
  artefacts: Record<string, string>;
}

export const keyOf = (...parts: string[]): string => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);

export async function readManifest(site: string): Promise<ReportManifest> {
  const file = path.join(site, MANIFEST);
  if (!existsSync(file)) return { format: 'cnnviz-report', version: 1, artefacts: {} };
  let m: ReportManifest;
  try {
    m = JSON.parse(await fs.readFile(file, 'utf8')) as ReportManifest;
  } catch (err) {
    throw new UsageError(`${file} is not a cnnviz report manifest (${(err as Error).message}): remove it or choose another -o`);
  }
  if (m.format !== 'cnnviz-report' || m.version !== 1) throw new UsageError(`${file} is not a cnnviz report manifest version 1: remove it or choose another -o`);
  return m;
}

export async function writeManifest(site: string, m: ReportManifest): Promise<void> {
  const artefacts = Object.fromEntries(Object.entries(m.artefacts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await writeFileAtomic(path.join(site, MANIFEST), `${JSON.stringify({ ...m, artefacts }, null, 1)}\n`);
}

/** Are all these files present and made from `key`? */
export function isDone(site: string, m: ReportManifest, files: string[], key: string): boolean {
  return files.every((f) => m.artefacts[f] === key && existsSync(path.join(site, f)));
}

/** Write a text file only when its bytes change (pages are cheap to make, not to rewrite). */
export async function writeIfChanged(file: string, text: string): Promise<boolean> {
  const have = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (have === text) return false;
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, text);
  return true;
}
