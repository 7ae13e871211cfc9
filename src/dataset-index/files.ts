import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** Extensions `index` picks up when it walks a folder (files named one by one are taken whatever they are called). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

/** One photo to index: where it is, and the name its shard is chosen by. */
export interface ListedFile {
  /** Absolute path. */
  abs: string;
  /**
   * The path relative to the folder argument it was found under (a file given by itself: as
   * given): the same on every machine of a sharded run, wherever the photos are mounted.
   */
  name: string;
}

/** What makes a file "the same" for an incremental run: its path, size and modification time. */
export interface FileKey {
  /** Relative to the index folder, with '/' separators (see relativeTo). */
  path: string;
  size: number;
  mtimeMs: number;
}

/** Plain code-unit order: the canonical row order, the same in every locale and on every machine. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function walk(dir: string, root: string, out: ListedFile[]): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    // Hidden files and folders (.DS_Store, an index's own .tmp files) are never photos.
    if (e.name.startsWith('.')) continue;
    const abs = path.join(dir, e.name);
    if (e.isDirectory()) await walk(abs, root, out);
    else if (e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) {
      out.push({ abs, name: path.relative(root, abs).split(path.sep).join('/') });
    }
  }
}

/**
 * The photos the arguments name: folders are walked (recursively, image extensions only),
 * files are taken as they are. Sorted by absolute path, each once. A missing argument is a
 * usage error: the user named it.
 */
export async function listInputs(inputs: readonly string[], skipDir?: string): Promise<ListedFile[]> {
  if (inputs.length === 0) throw new UsageError('no photos given: name a folder or image files to index');
  const out: ListedFile[] = [];
  for (const input of inputs) {
    const stat = await fs.stat(input).catch(() => undefined);
    if (!stat) throw new UsageError(`not found: ${input} (give a folder of photos or image files)`);
    if (stat.isDirectory()) {
      const found: ListedFile[] = [];
      await walk(path.resolve(input), path.resolve(input), found);
      // The index folder itself may sit inside the photo folder: its files are not photos.
      out.push(...(skipDir ? found.filter((f) => !f.abs.startsWith(path.resolve(skipDir) + path.sep)) : found));
    } else {
      out.push({ abs: path.resolve(input), name: input.split(path.sep).join('/') });
    }
  }
  const byAbs = new Map(out.map((f) => [f.abs, f]));
  return [...byAbs.values()].sort((a, b) => comparePaths(a.abs, b.abs));
}

/** 32-bit FNV-1a over the UTF-8 bytes: stable across runs, machines and Node versions. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface Shard {
  /** 1-based, as the user writes it: 1/4 … 4/4. */
  k: number;
  n: number;
}

export function parseShard(spec: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || k < 1 || k > n) throw new UsageError(`bad --shard '${spec}': expected k/n with 1 <= k <= n, e.g. 1/4`);
  return { k, n };
}

/** Is this file in shard k of n? Decided by its name alone, so every machine agrees without talking. */
export function inShard(file: ListedFile, shard: Shard | undefined): boolean {
  return !shard || stableHash(file.name) % shard.n === shard.k - 1;
}

/**
 * A photo's path as the index stores it: relative to the index folder, '/'-separated. The index
 * then still finds its photos when the index and the photo folder are moved (or mounted
 * elsewhere) together.
 */
export function relativeTo(indexDir: string, abs: string): string {
  return path.relative(path.resolve(indexDir), abs).split(path.sep).join('/');
}

/** The absolute path of a stored (index-relative) path. */
export function resolveStored(indexDir: string, stored: string): string {
  return path.resolve(indexDir, stored.split('/').join(path.sep));
}

/** Size and modification time, the incremental key, of each file (one stat each). */
export async function statKey(abs: string): Promise<{ size: number; mtimeMs: number }> {
  const s = await fs.stat(abs);
  return { size: s.size, mtimeMs: Math.round(s.mtimeMs) };
}
