import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { type LoadedModel } from '../model/load.js';
import { checkImageChannels, modelInputSize } from '../model/probe.js';
import { computeIndex, emptyStats, type ComputeOptions, type IndexLayer } from './compute.js';
import { nominalField, receptiveFields } from '../model/receptive-field.js';
import { IMAGE_EXTENSIONS, inShard, listInputs, relativeTo, resolveStored, statKey, type FileKey, type Shard } from './files.js';
import { FORMAT_VERSION, gatherRows, listChunks, readTable, writeChunk, writeTable, type Table } from './format.js';

/**
 * What identifies a model's weights: SHA-256 over its model file and, for a model.json, the
 * weight files its manifest names. An index built with other weights is another index.
 */
export async function modelFingerprint(source: string): Promise<string> {
  const hash = createHash('sha256');
  const bytes = await fs.readFile(source).catch(() => undefined);
  if (!bytes) return 'in-memory';
  hash.update(bytes);
  if (source.endsWith('.json')) {
    try {
      const json = JSON.parse(bytes.toString('utf8')) as { weightsManifest?: { paths: string[] }[] };
      for (const group of json.weightsManifest ?? []) for (const p of group.paths) hash.update(await fs.readFile(path.join(path.dirname(source), p)));
    } catch {
      // A model that loaded has readable weights; anything odd here leaves the model file's hash.
    }
  }
  return `sha256:${hash.digest('hex')}`;
}

/** The settings an index is built with, checked against an existing index before it is extended. */
export async function indexSettings(loaded: LoadedModel, layers: IndexLayer[], opts: ComputeOptions, shard?: Shard): Promise<Table['settings']> {
  const size = modelInputSize(loaded, opts);
  if (!size) throw new UsageError('model takes any input size: give --size so every photo meets it at the same size');
  // Each layer's receptive field, so a query (`examples --index`) needs neither the model nor tfjs.
  const fields = receptiveFields(loaded, size);
  return {
    format: 'cnnviz-index',
    version: FORMAT_VERSION,
    model: { path: path.resolve(loaded.source), fingerprint: await modelFingerprint(loaded.source) },
    input: { height: size[0], width: size[1], channels: checkImageChannels(loaded), fit: opts.fit ?? 'cover', range: loaded.meta.inputRange },
    layers: layers.map((l) => ({ ...l, field: nominalField(fields[l.index]) })),
    ...(shard ? { shard } : {}),
  };
}

/** Refuse to extend an index built differently (other weights, layers, input), naming the difference. */
export function checkSameSettings(dir: string, have: Table['settings'], want: Table['settings']): void {
  const differ = (what: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      throw new UsageError(`index ${dir} was built with ${what} ${JSON.stringify(a)}, not ${JSON.stringify(b)}: use the same settings to extend it, or a new -o`);
    }
  };
  differ('model weights', have.model.fingerprint, want.model.fingerprint);
  differ('layers', have.layers.map((l) => l.name), want.layers.map((l) => l.name));
  differ('input', have.input, want.input);
  differ('shard', have.shard ?? null, want.shard ?? null);
}

export interface BuildOptions extends ComputeOptions {
  shard?: Shard;
  onFailed?(file: string, error: unknown): void;
  /** Called once the work is known, then after every batch. */
  onProgress?(done: number, total: number): void;
}

export interface BuildReport {
  /** Photos in the index after the run. */
  files: number;
  /** Photos computed this run (new or changed). */
  computed: number;
  /** Rows dropped because their photo is gone. */
  dropped: number;
  failed: { path: string; reason: string }[];
}

/**
 * Build or extend the index in `dir` over `inputs` (folders and files). Photos whose path, size
 * and modification time the index already holds are skipped; rows of photos no longer listed
 * are dropped; each computed batch is written at once as a chunk, so a killed run loses only
 * the batches in flight; the end compacts everything into the canonical arrays.
 */
export async function buildIndex(loaded: LoadedModel, inputs: readonly string[], dir: string, layers: IndexLayer[], opts: BuildOptions = {}): Promise<BuildReport> {
  const settings = await indexSettings(loaded, layers, opts, opts.shard);
  const all = await listInputs(inputs, dir);
  if (all.length === 0) throw new UsageError(`no photos in ${inputs.join(' ')}: index looks for ${IMAGE_EXTENSIONS.join(' ')} files in folders (and below)`);
  const listed = all.filter((f) => inShard(f, opts.shard));
  let table = await readTable(dir);
  if (table) checkSameSettings(dir, table.settings, settings);
  else {
    // An index exists (empty) from the first moment, so it is readable whenever the run is killed.
    table = { settings, files: [], stats: layers.map((l) => emptyStats(0, l.channels)), failed: [], generation: 0 };
    await fs.mkdir(dir, { recursive: true });
    await writeTable(dir, table);
    table.generation = 1;
  }
  const keys = new Map<string, FileKey>();
  for (const f of listed) {
    const k = await statKey(f.abs);
    keys.set(f.abs, { path: relativeTo(dir, f.abs), ...k });
  }
  const have = new Map(table.files.map((f) => [f.path, f]));
  const todo = listed.filter((f) => {
    const k = keys.get(f.abs)!;
    const h = have.get(k.path);
    return !h || h.size !== k.size || h.mtimeMs !== k.mtimeMs;
  });
  const wanted = new Set([...keys.values()].map((k) => k.path));
  const dropped = table.files.filter((f) => !wanted.has(f.path)).length;

  const chunks = await listChunks(dir);
  // Nothing new, nothing gone, nothing left over from a killed run, and already the current
  // format: the index stays as it is, byte for byte (a report re-run keeps its site unchanged).
  // An older format is rewritten, which is how a version 1 index gains its receptive fields.
  const currentFormat = table.settings.version === FORMAT_VERSION;
  if (currentFormat && todo.length === 0 && dropped === 0 && chunks.length === 0 && table.files.length > 0) {
    opts.onProgress?.(0, 0);
    return { files: table.files.length, computed: 0, dropped: 0, failed: [] };
  }
  let seq = chunks.length ? parseInt(path.basename(chunks[chunks.length - 1]), 10) + 1 : 0;
  const fresh: { files: FileKey[]; stats: typeof table.stats }[] = [];
  const failed: { path: string; reason: string }[] = [];
  opts.onProgress?.(0, todo.length);
  await computeIndex(loaded, todo.map((f) => f.abs), layers, opts, {
    onBatch: async (files, stats) => {
      const rows = files.map((abs) => keys.get(abs)!);
      fresh.push({ files: rows, stats });
      if (rows.length) await writeChunk(dir, seq++, rows, layers, stats);
    },
    onFailed: (file, error) => {
      failed.push({ path: keys.get(file)!.path, reason: String((error as Error)?.message ?? error).split('\n')[0] });
      opts.onFailed?.(file, error);
    },
    onProgress: (done) => opts.onProgress?.(done, todo.length),
  });
  // Keep a row only if its photo is still listed with the key the row was computed for.
  const current = (f: FileKey) => {
    const k = keys.get(resolveStored(dir, f.path));
    return !!k && k.size === f.size && k.mtimeMs === f.mtimeMs;
  };
  const gathered = gatherRows(layers, [table, ...fresh], current);
  failed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  await writeTable(dir, { ...table, settings: { ...settings, model: settings.model }, ...gathered, failed });
  return { files: gathered.files.length, computed: fresh.reduce((a, f) => a + f.files.length, 0), dropped, failed };
}
