import { promises as fs } from 'node:fs';
import path from 'node:path';
import { RuntimeError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../image/io.js';
import { type Fit } from '../image/io.js';
import { type InputRange } from '../model/meta.js';
import { emptyStats, STATS, type IndexLayer, type LayerStats } from './stats.js';
import { comparePaths, type FileKey } from './files.js';

/**
 * The index folder (docs/index.md):
 *   manifest.json              what was indexed, how, and where each layer's arrays are
 *   g<N>/<layer>.<stat>.npy    the arrays of generation N, [files, channels], rows in manifest order
 *   chunks/<seq>.chunk         batches computed since the last compaction (crash safety)
 * Every file appears by rename, so a reader never sees one half-written; the manifest is
 * renamed last and names the generation it belongs to, so the arrays it points to are whole.
 */
export const FORMAT_NAME = 'cnnviz-index';
export const FORMAT_VERSION = 2;
/**
 * Versions this reader reads. Version 2 added each layer's receptive `field` (so a query needs
 * no model); a version 1 index is read as before, its fields worked out from the model's graph,
 * and becomes version 2 on the next `cnnviz index` run over it.
 */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

export interface ManifestLayer extends IndexLayer {
  /** Each statistic's .npy file, relative to the index folder. */
  arrays: Record<(typeof STATS)[number], string>;
}

export interface IndexInput {
  height: number;
  width: number;
  channels: number;
  /** How each photo was fitted to height x width (sharp's resize, centred): see inputBoxToPhoto. */
  fit: Fit;
  range: InputRange;
}

export interface Manifest {
  format: typeof FORMAT_NAME;
  version: number;
  model: { path: string; fingerprint: string };
  input: IndexInput;
  layers: ManifestLayer[];
  /** Sorted by path (code-unit order); row i of every array is files[i]. */
  files: FileKey[];
  /** Photos that could not be decoded in the last run, with why. */
  failed: { path: string; reason: string }[];
  generation: number;
  shard?: { k: number; n: number };
}

/** The in-memory index: the manifest's settings and the rows (manifest arrays plus chunks). */
export interface Table {
  settings: Omit<Manifest, 'files' | 'failed' | 'generation' | 'layers'> & { layers: IndexLayer[] };
  files: FileKey[];
  stats: LayerStats[];
  failed: { path: string; reason: string }[];
  generation: number;
}

// ---- .npy ----------------------------------------------------------------------------------

type NpyArray = Float32Array | Int32Array;

/** A 2-D little-endian float32/int32 array in numpy's .npy layout (version 1.0), readable by np.load. */
export function encodeNpy(data: NpyArray, shape: [number, number]): Buffer {
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape[0]}, ${shape[1]}), }`;
  // Magic (6) + version (2) + length (2) + header + '\n', padded with spaces to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

export function decodeNpy(bytes: Buffer, file: string): { data: NpyArray; shape: number[] } {
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw unreadable(file, 'not a .npy file');
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!shape || (descr !== '<f4' && descr !== '<i4')) throw unreadable(file, `unexpected .npy header ${header.trim()}`);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(start + headerLength);
  if (body.length !== count * 4) throw unreadable(file, `holds ${body.length} data bytes, its header needs ${count * 4} (truncated?)`);
  const copy = new Uint8Array(body).buffer;
  return { data: descr === '<f4' ? new Float32Array(copy) : new Int32Array(copy), shape };
}

function unreadable(file: string, why: string): UsageError {
  return new UsageError(`cannot read index ${file}: ${why}`);
}

// ---- manifest --------------------------------------------------------------------------------

export const manifestPath = (dir: string) => path.join(dir, 'manifest.json');
export const chunkDir = (dir: string) => path.join(dir, 'chunks');

/** The manifest of an index folder, or undefined when the folder holds none yet. */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await fs.readFile(manifestPath(dir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new RuntimeError(`cannot read index ${manifestPath(dir)}: ${(err as Error).message}`);
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw unreadable(manifestPath(dir), 'manifest.json is not JSON (corrupt?)');
  }
  if (m?.format !== FORMAT_NAME) throw unreadable(manifestPath(dir), `not a cnnviz index manifest (format ${JSON.stringify(m?.format)})`);
  if (!READABLE_VERSIONS.includes(m.version)) throw unreadable(manifestPath(dir), `format version ${m.version}; this cnnviz reads versions ${READABLE_VERSIONS.join(' and ')}`);
  if (!Array.isArray(m.files) || !Array.isArray(m.layers)) throw unreadable(manifestPath(dir), 'manifest.json lacks its files or layers list');
  return m;
}

// ---- chunks ----------------------------------------------------------------------------------

/**
 * A chunk: a batch written as soon as it is computed. Layout: uint32 LE header length, the JSON
 * header {files, layers}, padding to 4 bytes, then per layer its five arrays [rows, channels]
 * (float32 max, mean, min; int32 argmax, argmin), little-endian.
 */
export function encodeChunk(files: FileKey[], layers: readonly IndexLayer[], stats: LayerStats[]): Buffer {
  const json = Buffer.from(JSON.stringify({ files, layers: layers.map((l) => `${l.name}:${l.channels}`) }), 'utf8');
  const pad = (4 - ((4 + json.length) % 4)) % 4;
  const head = Buffer.alloc(4);
  head.writeUInt32LE(json.length + pad, 0);
  const parts: Buffer[] = [head, json, Buffer.alloc(pad, 0x20)];
  for (const s of stats) for (const name of STATS) parts.push(Buffer.from(s[name].buffer, s[name].byteOffset, s[name].byteLength));
  return Buffer.concat(parts);
}

export function decodeChunk(bytes: Buffer, layers: readonly IndexLayer[], file: string): { files: FileKey[]; stats: LayerStats[] } {
  const len = bytes.readUInt32LE(0);
  const header = JSON.parse(bytes.toString('utf8', 4, 4 + len)) as { files: FileKey[]; layers: string[] };
  if (header.layers.join(',') !== layers.map((l) => `${l.name}:${l.channels}`).join(',')) throw unreadable(file, 'a chunk for other layers than the manifest names');
  const rows = header.files.length;
  let at = 4 + len;
  const stats = layers.map((l) => {
    const s = emptyStats(rows, l.channels);
    for (const name of STATS) {
      const n = rows * l.channels * 4;
      const part = new Uint8Array(bytes.subarray(at, at + n)).buffer;
      if (part.byteLength !== n) throw unreadable(file, 'a truncated chunk');
      s[name] = (name === 'argmax' || name === 'argmin' ? new Int32Array(part) : new Float32Array(part)) as never;
      at += n;
    }
    return s;
  });
  return { files: header.files, stats };
}

/** Chunk files in the order they were written (by sequence number). Temp files of an interrupted write are skipped. */
export async function listChunks(dir: string): Promise<string[]> {
  const names = await fs.readdir(chunkDir(dir)).catch(() => [] as string[]);
  return names
    .filter((n) => /^\d+\.chunk$/.test(n))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
    .map((n) => path.join(chunkDir(dir), n));
}

/** Write one batch as the next chunk, atomically (temp file, then rename). */
export async function writeChunk(dir: string, seq: number, files: FileKey[], layers: readonly IndexLayer[], stats: LayerStats[]): Promise<void> {
  await fs.mkdir(chunkDir(dir), { recursive: true });
  await writeFileAtomic(path.join(chunkDir(dir), `${String(seq).padStart(8, '0')}.chunk`), encodeChunk(files, layers, stats));
}

// ---- the table ---------------------------------------------------------------------------------

/**
 * Gather rows from several sources into a table in canonical order (sorted by path), a later
 * source's row replacing an earlier one's of the same path, keeping only paths `keep` accepts.
 */
export function gatherRows(layers: readonly IndexLayer[], sources: { files: FileKey[]; stats: LayerStats[] }[], keep: (f: FileKey) => boolean = () => true): { files: FileKey[]; stats: LayerStats[] } {
  const where = new Map<string, { src: number; row: number; key: FileKey }>();
  sources.forEach((s, src) => s.files.forEach((key, row) => where.set(key.path, { src, row, key })));
  const picked = [...where.values()].filter((w) => keep(w.key)).sort((a, b) => comparePaths(a.key.path, b.key.path));
  const stats = layers.map((l, li) => {
    const c = l.channels;
    const out = emptyStats(picked.length, c);
    for (const name of STATS) {
      const target = out[name];
      picked.forEach((p, i) => target.set(sources[p.src].stats[li][name].subarray(p.row * c, (p.row + 1) * c), i * c));
    }
    return out;
  });
  return { files: picked.map((p) => p.key), stats };
}

/**
 * Read an index folder: the manifest's arrays with every chunk folded in. Undefined if it holds
 * no index. `only` (layer names as the manifest spells them) reads just those layers' arrays:
 * the table then holds only them.
 */
export async function readTable(dir: string, only?: readonly string[]): Promise<Table | undefined> {
  const m = await readManifest(dir);
  if (!m) return undefined;
  const all: IndexLayer[] = m.layers.map(({ name, index, height, width, channels, field }) => ({ name, index, height, width, channels, ...(field ? { field } : {}) }));
  const wanted = only ? all.map((l, i) => i).filter((i) => only.includes(all[i].name)) : all.map((_, i) => i);
  const layers = wanted.map((i) => all[i]);
  const base = {
    files: m.files,
    stats: await Promise.all(
      wanted.map(async (i) => {
        const l = m.layers[i];
        const s = emptyStats(0, l.channels);
        if (m.files.length === 0) return s;
        for (const name of STATS) {
          const file = path.join(dir, l.arrays[name]);
          const bytes = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
            throw err.code === 'ENOENT' ? unreadable(file, `missing (named in ${manifestPath(dir)})`) : err;
          });
          const { data, shape } = decodeNpy(bytes, file);
          if (shape[0] !== m.files.length || shape[1] !== l.channels) throw unreadable(file, `shape [${shape.join(', ')}], the manifest needs [${m.files.length}, ${l.channels}]`);
          s[name] = data as never;
        }
        return s;
      }),
    ),
  };
  const chunks = [];
  for (const file of await listChunks(dir)) {
    const chunk = decodeChunk(await fs.readFile(file), all, file);
    chunks.push({ files: chunk.files, stats: wanted.map((i) => chunk.stats[i]) });
  }
  const { files, stats } = chunks.length ? gatherRows(layers, [base, ...chunks]) : base;
  const { files: _f, failed, generation, layers: _l, ...settings } = m;
  return { settings: { ...settings, layers }, files, stats, failed: failed ?? [], generation };
}

/** File-name-safe form of a layer name ('base/conv_pw_5_relu' → 'base_conv_pw_5_relu'). */
const safe = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_');

/**
 * Write a table as the index's new generation: arrays into g<N+1>/, then the manifest (the
 * switch-over, one rename), then remove the chunks it absorbed and the old generation. A crash
 * before the manifest's rename leaves the old index and its chunks; after it, left-over chunks
 * only repeat rows the arrays hold.
 */
export async function writeTable(dir: string, table: Table): Promise<void> {
  const generation = table.generation + 1;
  const gen = `g${generation}`;
  await fs.mkdir(path.join(dir, gen), { recursive: true });
  const chunks = await listChunks(dir);
  const n = table.files.length;
  const layers: ManifestLayer[] = [];
  for (const [li, l] of table.settings.layers.entries()) {
    const stem = `${String(l.index).padStart(3, '0')}_${safe(l.name)}`;
    const arrays = Object.fromEntries(STATS.map((s) => [s, `${gen}/${stem}.${s}.npy`])) as ManifestLayer['arrays'];
    for (const s of STATS) await writeFileAtomic(path.join(dir, arrays[s]), encodeNpy(table.stats[li][s], [n, l.channels]));
    layers.push({ ...l, arrays });
  }
  const manifest: Manifest = { ...table.settings, format: FORMAT_NAME, version: FORMAT_VERSION, layers, files: table.files, failed: table.failed, generation };
  await writeFileAtomic(manifestPath(dir), `${JSON.stringify(manifest, null, 1)}\n`);
  for (const c of chunks) await fs.rm(c, { force: true });
  await removeStale(dir, gen);
}

/** Old generations and temp files an interrupted run left behind. */
async function removeStale(dir: string, keepGen: string): Promise<void> {
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory() && /^g\d+$/.test(e.name) && e.name !== keepGen) await fs.rm(path.join(dir, e.name), { recursive: true, force: true });
    if (e.isFile() && e.name.endsWith('.tmp')) await fs.rm(path.join(dir, e.name), { force: true });
  }
  for (const name of await fs.readdir(chunkDir(dir)).catch(() => [] as string[])) {
    if (name.endsWith('.tmp')) await fs.rm(path.join(chunkDir(dir), name), { force: true });
  }
}
