import { promises as fs } from 'node:fs';
import { RuntimeError, UsageError } from '../errors.js';
import { type LoadedModel } from './load.js';

/**
 * Class names from a labels file (the --labels flag), in any of the shapes they come in:
 *  - one label per line (labels.txt, class_names.txt);
 *  - a JSON array of labels;
 *  - a JSON object {index: label}, also with Keras' {index: [wordnet id, label]} values
 *    (imagenet_class_index.json), whose indices must run 0..n-1 without gaps.
 */
export function parseLabels(text: string, file: string): string[] {
  const body = text.replace(/^\uFEFF/, '');
  const trimmed = body.trim();
  if (trimmed === '') throw new UsageError(`labels file ${file} is empty: give one label per line, or a JSON array or {index: label} object`);
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return labelsFromJson(trimmed, file);
  const lines = body.split(/\r?\n/).map((l) => l.trim());
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  // A blank line in the middle would silently shift every later class by one.
  const blank = lines.indexOf('');
  if (blank >= 0) throw new UsageError(`labels file ${file} has an empty line ${blank + 1}: give one label per line, in class order`);
  return lines;
}

function labelsFromJson(text: string, file: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`labels file ${file} is not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const asLabel = (v: unknown, where: string): string => {
    const label = Array.isArray(v) ? v[v.length - 1] : v;
    if (typeof label === 'string' || typeof label === 'number') return String(label);
    throw new UsageError(`labels file ${file}: ${where} is ${JSON.stringify(v)}, not a label: expected a string`);
  };
  if (Array.isArray(value)) return value.map((v, i) => asLabel(v, `entry ${i}`));
  const entries = Object.entries(value as Record<string, unknown>);
  const labels: string[] = new Array(entries.length);
  for (const [key, v] of entries) {
    const i = Number(key);
    if (!/^\d+$/.test(key) || i >= entries.length) {
      throw new UsageError(`labels file ${file}: key '${key}' is not a class index 0-${entries.length - 1}: expected {"0": "label", "1": "label", …}`);
    }
    labels[i] = asLabel(v, `key '${key}'`);
  }
  const missing = Array.from(labels, (l, i) => (l === undefined ? i : -1)).find((i) => i >= 0);
  if (missing !== undefined) throw new UsageError(`labels file ${file} has no label for class ${missing}: the keys must run 0-${entries.length - 1} without gaps`);
  return labels;
}

/** Read and parse a labels file; a missing or unreadable one is named in the error. */
export async function readLabelsFile(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`labels file not found: ${file}`);
    if (code === 'EISDIR') throw new UsageError(`labels path is a folder, not a file: ${file}`);
    throw new RuntimeError(`cannot read labels file ${file}: ${code ?? (err as Error).message}`);
  }
  return parseLabels(text, file);
}

/**
 * How many classes the model's output names: its vector's length, and 2 for a single sigmoid
 * unit (P(class 1), with class 0 its complement). Undefined when the output is not a vector.
 */
export function classCount(loaded: LoadedModel): number | undefined {
  const shape = loaded.graph.outputs[0].shape;
  if (shape.length !== 2 || shape[1] == null) return undefined;
  return shape[1] === 1 ? 2 : shape[1];
}

/** The model with `labels` in place of its own, once they are known to name its classes. */
export function withLabels(loaded: LoadedModel, labels: string[], file: string): LoadedModel {
  const classes = classCount(loaded);
  if (classes === undefined) {
    const shape = loaded.graph.outputs[0].shape.map((d) => d ?? '?').join(', ');
    throw new UsageError(`--labels ${file} names classes, but model ${loaded.source} does not end in a class vector (its output has shape [${shape}])`);
  }
  if (labels.length !== classes) {
    const sigmoid = loaded.graph.outputs[0].shape[1] === 1 ? ' (one sigmoid unit: 2 classes)' : '';
    throw new UsageError(`--labels ${file} has ${labels.length} labels but model ${loaded.source} has ${classes} classes${sigmoid}`);
  }
  return { ...loaded, meta: { ...loaded.meta, labels } };
}
