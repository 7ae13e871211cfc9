import tf = require('@tensorflow/tfjs');

/**
 * Weights derived from a filter (flipped, transposed) are rebuilt for every gradient step
 * unless cached, and a new filter tensor also forces XNNPACK to re-pack its operator.
 * Weights stay fixed while a picture is optimised, so one entry per (filter, recipe) pays
 * for itself from the second step. tfjs gives every tensor buffer a fresh `dataId` object,
 * so identity of the dataId is a safe key: a variable that is assigned gets a new one.
 */
interface Entry {
  /** Every buffer the value was computed from: it is stale once any of them is gone. */
  dataIds: object[];
  backend: tf.KernelBackend;
  value: tf.Tensor;
  bytes: number;
}

// A dream keeps two folded weights per conv → batch norm chain and a flipped filter per
// convolution: some 300 for InceptionV3, which must not evict each other every step.
const MAX_ENTRIES = 1024;
const MAX_BYTES = 512 * 1024 * 1024;

// A Map keeps insertion order, which makes it an LRU when hits are re-inserted.
const entries = new Map<string, Entry>();
const ids = new WeakMap<object, number>();
let nextId = 0;
let totalBytes = 0;

function idOf(dataId: object): number {
  let id = ids.get(dataId);
  if (id === undefined) {
    id = nextId++;
    ids.set(dataId, id);
  }
  return id;
}

function alive(entry: Entry): boolean {
  // The backend forgets a dataId when the last tensor on it is disposed.
  const map = (entry.backend as unknown as { dataIdMap?: { has(id: object): boolean } }).dataIdMap;
  return entry.dataIds.every((d) => map?.has(d) ?? true);
}

function drop(key: string, entry: Entry): void {
  entries.delete(key);
  totalBytes -= entry.bytes;
  entry.value.dispose();
}

function prune(newest: string): void {
  for (const [key, entry] of entries) if (!alive(entry)) drop(key, entry);
  for (const [key, entry] of entries) {
    if (entries.size <= MAX_ENTRIES && totalBytes <= MAX_BYTES) break;
    if (key !== newest) drop(key, entry);
  }
}

/**
 * The tensor `make(source)` for this source and recipe, computed once. The result is kept
 * out of every tidy scope (tf.keep) and owned by the cache: callers must not dispose it.
 */
export function derivedWeight(source: tf.Tensor, recipe: string, make: (source: tf.Tensor) => tf.Tensor): tf.Tensor {
  return derivedFrom([source], recipe, () => make(source));
}

/**
 * The same for a tensor computed from several (a convolution's kernel with a batch norm's
 * statistics folded in): one entry per (sources, recipe), stale once any source is gone.
 */
export function derivedFrom(sources: readonly tf.Tensor[], recipe: string, make: () => tf.Tensor): tf.Tensor {
  const key = `${sources.map((s) => idOf(s.dataId)).join(',')}:${recipe}`;
  const hit = entries.get(key);
  if (hit && !hit.value.isDisposed) {
    entries.delete(key);
    entries.set(key, hit);
    return hit.value;
  }
  const value = tf.keep(tf.tidy(make));
  const entry: Entry = { dataIds: sources.map((s) => s.dataId), backend: tf.backend(), value, bytes: value.size * 4 };
  entries.set(key, entry);
  totalBytes += entry.bytes;
  prune(key);
  return value;
}
