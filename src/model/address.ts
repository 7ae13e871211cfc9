import { distance } from 'fastest-levenshtein';
import { UsageError } from '../errors.js';

interface Named {
  name: string;
}

/** The few names nearest to `wanted`, for did-you-mean messages. */
export function closestNames(wanted: string, names: string[], count = 3): string[] {
  const w = wanted.toLowerCase();
  return names
    .map((name) => ({ name, d: distance(w, name.toLowerCase()) - (name.toLowerCase().includes(w) ? w.length : 0) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, count)
    .map((x) => x.name);
}

function outOfRange(value: string, n: number): UsageError {
  return new UsageError(`layer ${value} out of range: model has ${n} layers (0-${n - 1}, or -1 for the last)`);
}

function resolveOne(item: string, layers: readonly Named[]): number {
  const n = layers.length;
  if (/^-?\d+$/.test(item)) {
    const i = Number(item);
    const idx = i < 0 ? n + i : i;
    if (idx < 0 || idx >= n) throw outOfRange(item, n);
    return idx;
  }
  const exact = layers.findIndex((l) => l.name === item);
  if (exact >= 0) return exact;
  // A bare inner name finds a layer inside a nested model when it is unambiguous.
  const inner = layers.map((l, i) => (l.name.endsWith(`/${item}`) ? i : -1)).filter((i) => i >= 0);
  if (inner.length === 1) return inner[0];
  if (inner.length > 1) {
    throw new UsageError(`layer name '${item}' is ambiguous: ${inner.map((i) => layers[i].name).join(', ')}`);
  }
  const near = closestNames(item, layers.map((l) => l.name));
  throw new UsageError(`unknown layer '${item}': did you mean ${near.join(', ')}? ('cnnviz layers' lists all ${n})`);
}

/**
 * Turn a --layer value into layer indices. Accepts an index (0 is the first layer, -1 the
 * last), a name, ranges `3-7`, comma lists `1,5,conv2`, and `all`. Order is kept and
 * repeats dropped, so `-o dir/` gets one file per layer.
 */
export function resolveLayers(spec: string | number, layers: readonly Named[]): number[] {
  const text = String(spec).trim();
  if (text === '') throw new UsageError(`empty --layer: give an index, a name, a range like 3-7, or 'all'`);
  if (text.toLowerCase() === 'all') return layers.map((_, i) => i);
  const out: number[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    const range = item.match(/^(\d+)-(\d+)$/);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (a > b) throw new UsageError(`bad layer range '${item}': start is after end; write it low-high, e.g. ${b}-${a} (model has ${layers.length} layers, 0-${layers.length - 1})`);
      for (const end of [a, b]) if (end >= layers.length) throw outOfRange(String(end), layers.length);
      for (let i = a; i <= b; i++) out.push(i);
    } else {
      out.push(resolveOne(item, layers));
    }
  }
  return [...new Set(out)];
}

/** One layer only, for commands that visualize a single layer (dream, kernels). */
export function resolveLayer(spec: string | number, layers: readonly Named[]): number {
  const all = resolveLayers(spec, layers);
  if (all.length !== 1) throw new UsageError(`--layer '${spec}' names ${all.length} layers: this command takes exactly one`);
  return all[0];
}

/**
 * Parse an index list like `0-15`, `1,3,5` or `all` against a count (channels, filters).
 * `what` names the thing in errors: "filter 40 out of range: layer conv2 has 32 channels (0-31)".
 */
export function resolveIndexList(spec: string | number, count: number, what: string, owner: string): number[] {
  const text = String(spec).trim().toLowerCase();
  if (text === 'all') return Array.from({ length: count }, (_, i) => i);
  const out: number[] = [];
  const check = (i: number, raw: string) => {
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new UsageError(`${what} ${raw} out of range: ${owner} has ${count} channels (0-${count - 1})`);
  };
  for (const raw of text.split(',')) {
    const item = raw.trim();
    const range = item.match(/^(\d+)-(\d+)$/);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (a > b) throw new UsageError(`bad ${what} range '${item}': start is after end; write it low-high, e.g. ${b}-${a} (${owner} has ${count} channels, 0-${count - 1})`);
      check(a, String(a));
      check(b, String(b));
      for (let i = a; i <= b; i++) out.push(i);
    } else if (/^\d+$/.test(item)) {
      check(Number(item), item);
      out.push(Number(item));
    } else {
      throw new UsageError(`bad ${what} list '${spec}': use indices like 3, ranges like 0-15, commas, or 'all'`);
    }
  }
  return [...new Set(out)];
}
