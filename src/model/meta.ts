import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

export type InputRange = [number, number];

export interface ModelMeta {
  /** Display name: cnnviz.json's `name`, else the Keras model name, else the folder name. */
  name: string;
  labels?: string[];
  inputRange: InputRange;
  /** Where inputRange came from, printed by `layers` so a wrong range is visible. */
  inputRangeSource: 'flag' | 'cnnviz.json' | 'model' | 'Rescaling layer' | 'model name' | 'default';
  /** [height, width] the sidecar asks for when the model itself accepts any size. */
  inputSize?: [number, number];
  /** Everything else in cnnviz.json (training records and such), passed through untouched. */
  extra: Record<string, unknown>;
}

/** The optional sidecar written by `cnnviz train` and by hand. */
export interface CnnvizJson {
  name?: string;
  labels?: string[];
  inputRange?: InputRange;
  inputSize?: number | [number, number];
  [key: string]: unknown;
}

export function parseInputRange(value: string): InputRange {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || parts.some((n) => !Number.isFinite(n)) || parts[0] >= parts[1]) {
    throw new UsageError(`bad input range '${value}': give two numbers low,high with low < high, e.g. 0,1 or -1,1 or 0,255`);
  }
  return [parts[0], parts[1]];
}

async function readJsonIfPresent(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new UsageError(`${file} is not valid JSON`);
  }
}

async function readLinesIfPresent(file: string): Promise<string[] | undefined> {
  try {
    return (await fs.readFile(file, 'utf8')).split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  } catch {
    return undefined;
  }
}

/**
 * Keras applications whose preprocessing is `x / 127.5 - 1`. A range guessed from a name is
 * still a guess, so `layers` says where it came from.
 */
const TF_MODE_NAMES = /^(mobilenet|inception|xception|nasnet|resnet\d*v2|efficientnetv2)/i;

export function rangeFromModelName(name: string | undefined): InputRange | undefined {
  return name && TF_MODE_NAMES.test(name) ? [-1, 1] : undefined;
}

/**
 * Gather what the weights don't say: labels and input range, from `cnnviz.json`, then
 * ml5-style `metadata.json`, then `labels.txt` / `class_names.txt` beside the model.
 */
export async function readModelMeta(modelFile: string, modelName?: string, rangeHint?: InputRange): Promise<ModelMeta> {
  const dir = path.dirname(modelFile);
  const sidecar = (await readJsonIfPresent(path.join(dir, 'cnnviz.json'))) as CnnvizJson | undefined;
  const ml5 = await readJsonIfPresent(path.join(dir, 'metadata.json'));
  const labels =
    (Array.isArray(sidecar?.labels) ? sidecar.labels.map(String) : undefined) ??
    (Array.isArray(ml5?.labels) ? (ml5.labels as unknown[]).map(String) : undefined) ??
    (await readLinesIfPresent(path.join(dir, 'labels.txt'))) ??
    (await readLinesIfPresent(path.join(dir, 'class_names.txt')));

  let inputRange: InputRange = [0, 1];
  let inputRangeSource: ModelMeta['inputRangeSource'] = 'default';
  const byName = rangeFromModelName(modelName);
  if (sidecar?.inputRange) {
    inputRange = validRange(sidecar.inputRange, path.join(dir, 'cnnviz.json'));
    inputRangeSource = 'cnnviz.json';
  } else if (rangeHint) {
    inputRange = rangeHint;
    inputRangeSource = 'model';
  } else if (byName) {
    inputRange = byName;
    inputRangeSource = 'model name';
  }
  const size = sidecar?.inputSize;
  const inputSize: [number, number] | undefined = typeof size === 'number' ? [size, size] : Array.isArray(size) ? [size[0], size[1]] : undefined;
  const { name, labels: _l, inputRange: _r, inputSize: _s, ...extra } = sidecar ?? {};
  return {
    name: name ?? modelName ?? path.basename(dir),
    labels,
    inputRange,
    inputRangeSource,
    inputSize,
    extra,
  };
}

function validRange(r: unknown, where: string): InputRange {
  if (Array.isArray(r) && r.length === 2 && r.every((n) => typeof n === 'number') && r[0] < r[1]) return [r[0], r[1]];
  throw new UsageError(`bad inputRange ${JSON.stringify(r)} in ${where}: expected [low, high], e.g. [0, 1] or [-1, 1]`);
}
