import { promises as fs } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { RuntimeError, UsageError } from '../errors.js';

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

/** Bytes a manifest group's weights occupy on disk, quantized weights at their stored width. */
function groupByteSize(weights: tf.io.WeightsManifestEntry[]): number {
  let total = 0;
  for (const w of weights) {
    const count = w.shape.reduce((a, b) => a * b, 1);
    const dtype = w.quantization?.dtype ?? w.dtype;
    const bytes = DTYPE_BYTES[dtype];
    if (bytes === undefined) throw new UsageError(`weight ${w.name} has unsupported dtype ${dtype}`);
    total += count * bytes;
  }
  return total;
}

export interface ModelJson {
  format?: string;
  modelTopology?: Record<string, unknown>;
  weightsManifest?: tf.io.WeightsManifestConfig;
  [key: string]: unknown;
}

/** Parse a model.json, turning the ways it can be wrong into one-line errors that name the path. */
export async function readModelJson(jsonPath: string): Promise<ModelJson> {
  let text: string;
  try {
    text = await fs.readFile(jsonPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`model not found: ${jsonPath}`);
    throw new RuntimeError(`cannot read model ${jsonPath}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`model file is not JSON: ${jsonPath} (expected a TF.js model.json)`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const found = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
    throw new UsageError(`model file ${jsonPath} holds ${found}, not a JSON object (expected a TF.js model.json)`);
  }
  return parsed as ModelJson;
}

/**
 * Read every weight shard named in the manifest from the file system, relative to the
 * model.json. Never fetches: a model must be usable offline. Sizes are checked against the
 * manifest so a truncated download is reported by name instead of as garbage weights.
 */
export async function readWeights(jsonPath: string, manifest: tf.io.WeightsManifestConfig): Promise<{ specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer }> {
  checkManifest(jsonPath, manifest);
  const dir = path.dirname(jsonPath);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of manifest) {
    const parts: Buffer[] = [];
    for (const rel of group.paths) {
      if (/^[a-z]+:\/\//i.test(rel)) throw new UsageError(`weight shard ${rel} in ${jsonPath} is a URL: cnnviz reads only local files`);
      const shard = path.resolve(dir, rel);
      try {
        parts.push(await fs.readFile(shard));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`weight shard missing: ${shard} (named in ${jsonPath})`);
        throw new RuntimeError(`cannot read weight shard ${shard}: ${(err as Error).message}`);
      }
    }
    const got = parts.reduce((a, b) => a + b.length, 0);
    const want = groupByteSize(group.weights);
    if (got !== want) {
      const where = group.paths.map((p) => path.resolve(dir, p)).join(', ');
      throw new UsageError(`weight shard size mismatch: ${where} holds ${got} bytes, the manifest in ${jsonPath} needs ${want}`);
    }
    buffers.push(...parts);
    specs.push(...group.weights);
  }
  // A single shard read whole already owns its memory: hand it over. Otherwise copy once. (A
  // concat and then a slice of it copied every weight twice, and fresh memory is slow to map.)
  const [only] = buffers;
  if (buffers.length === 1 && only.byteOffset === 0 && only.buffer.byteLength === only.length) return { specs, data: only.buffer as ArrayBuffer };
  const data = new Uint8Array(buffers.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of buffers) {
    data.set(b, at);
    at += b.length;
  }
  return { specs, data: data.buffer };
}

/**
 * The manifest's shape, checked before it is used: a damaged model.json would otherwise fail
 * inside tfjs as "group.paths is not iterable", or size a buffer from a nonsense shape.
 */
function checkManifest(jsonPath: string, manifest: unknown): asserts manifest is tf.io.WeightsManifestConfig {
  const bad = (why: string) => new UsageError(`the weightsManifest in ${jsonPath} is malformed: ${why} (corrupt file?)`);
  if (!Array.isArray(manifest)) throw bad('it is not a list of weight groups');
  manifest.forEach((group: unknown, g) => {
    const { paths, weights } = (group ?? {}) as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) throw bad(`group ${g} has no list of shard file names ("paths")`);
    if (!Array.isArray(weights)) throw bad(`group ${g} has no list of weights`);
    weights.forEach((w: unknown, i) => {
      const { name, shape, dtype } = (w ?? {}) as { name?: unknown; shape?: unknown; dtype?: unknown };
      const where = typeof name === 'string' ? `weight '${name}'` : `weight ${i} of group ${g}`;
      if (typeof name !== 'string') throw bad(`${where} has no name`);
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`${where} has shape ${JSON.stringify(shape)?.slice(0, 40)}, not a list of sizes`);
      if (typeof dtype !== 'string') throw bad(`${where} has no dtype`);
    });
  });
}

/** A tfjs IOHandler over local files: what tf.io.fileSystem is in tfjs-node, without needing tfjs-node. */
export function fileSystemHandler(jsonPath: string, json: ModelJson): tf.io.IOHandler {
  return {
    load: async () => {
      const { specs, data } = await readWeights(jsonPath, json.weightsManifest ?? []);
      return {
        modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        format: json.format as string | undefined,
        weightSpecs: specs,
        weightData: data,
        trainingConfig: json.trainingConfig as tf.io.TrainingConfig | undefined,
      };
    },
  };
}
