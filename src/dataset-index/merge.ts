import { promises as fs } from 'node:fs';
import { UsageError } from '../errors.js';
import { checkSameSettings } from './build.js';
import { relativeTo, resolveStored } from './files.js';
import { FORMAT_VERSION, gatherRows, readManifest, readTable, writeTable, type Table } from './format.js';

/**
 * Join indexes built with the same model, layers and input (the shards of one run, say) into
 * `out`. Paths are re-expressed relative to `out`, rows sorted by them: two shards merged equal
 * one run over all the photos, value for value. A photo in two of them keeps the later one's row.
 */
export async function mergeIndexes(inputs: readonly string[], out: string): Promise<{ files: number }> {
  if (inputs.length === 0) throw new UsageError('--merge needs the index folders to join, e.g. --merge shard1 shard2 -o all');
  if (await readManifest(out)) throw new UsageError(`output index ${out} already exists: --merge writes a new index, give a new -o`);
  const tables: Table[] = [];
  for (const dir of inputs) {
    const t = await readTable(dir);
    if (!t) throw new UsageError(`not an index: ${dir} has no manifest.json (cnnviz index -o writes one)`);
    if (tables.length) checkSameSettings(dir, { ...t.settings, shard: undefined }, { ...tables[0].settings, shard: undefined });
    // Re-root the rows' paths at the output folder.
    t.files = t.files.map((f) => ({ ...f, path: relativeTo(out, resolveStored(dir, f.path)) }));
    t.failed = t.failed.map((f) => ({ ...f, path: relativeTo(out, resolveStored(dir, f.path)) }));
    tables.push(t);
  }
  const first = tables[0];
  // A version 1 index records no receptive fields: take each layer's from any index that has it.
  const layers = first.settings.layers.map((l, i) => {
    const field = l.field ?? tables.find((t) => t.settings.layers[i].field)?.settings.layers[i].field;
    return field ? { ...l, field } : l;
  });
  const gathered = gatherRows(layers, tables);
  const { shard: _shard, ...rest } = first.settings;
  const settings = { ...rest, version: FORMAT_VERSION, layers };
  await fs.mkdir(out, { recursive: true });
  const failed = tables.flatMap((t) => t.failed).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  await writeTable(out, { settings, ...gathered, failed, generation: 0 });
  return { files: gathered.files.length };
}
