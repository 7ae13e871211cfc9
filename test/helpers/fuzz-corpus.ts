import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { edgeModel, saveModelTo } from './models.js';
import { k3Layer, k3Sequential, layerArrays, writeKeras2H5, writeKeras3Zip } from './keras-fixtures.js';
import { writeGraphModel } from './graph-fixture.js';
import { h5wasm } from '../../src/model/keras/h5.js';

/**
 * The fuzz corpus: damaged images and model files, generated from a seed (nothing binary is
 * committed). Each input becomes one or more command lines; test/fuzz.test.ts runs them and
 * checks that every one ends in a success or in one clean error line.
 */

export interface FuzzCase {
  id: string;
  argv: string[];
  /** What the input is, for the report: `png truncated at IDAT`, `model.json: null at …`. */
  what: string;
  /** A file the command writes on success, which must not exist after a failure. */
  output?: string;
}

/** Seeded xorshift32: the same corpus on every run for one seed. */
export function rng(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

export function flipBits(bytes: Uint8Array, r: () => number, count: number, from = 0): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < count; i++) {
    const at = from + Math.floor(r() * (out.length - from));
    out[at] ^= 1 << Math.floor(r() * 8);
  }
  return out;
}

// ---- image structure: where a file can be cut so that a parser stops at a boundary ----

export function pngChunks(png: Uint8Array): { type: string; start: number; dataStart: number; end: number }[] {
  const b = Buffer.from(png);
  const chunks = [];
  for (let at = 8; at + 8 <= b.length; ) {
    const len = b.readUInt32BE(at);
    const type = b.toString('latin1', at + 4, at + 8);
    chunks.push({ type, start: at, dataStart: at + 8, end: at + 12 + len });
    at += 12 + len;
  }
  return chunks;
}

function pngBoundaries(png: Uint8Array): number[] {
  return [1, 4, 8, ...pngChunks(png).flatMap((c) => [c.start + 4, c.dataStart, Math.floor((c.dataStart + c.end - 4) / 2), c.end - 4, c.end])];
}

/** JPEG segment starts up to the scan, then points inside the entropy-coded scan. */
function jpegBoundaries(jpg: Uint8Array): number[] {
  const b = Buffer.from(jpg);
  const cuts = [1, 2];
  let at = 2;
  while (at + 4 <= b.length && b[at] === 0xff) {
    const marker = b[at + 1];
    cuts.push(at, at + 2);
    const len = b.readUInt16BE(at + 2);
    if (marker === 0xda) {
      const scan = at + 2 + len;
      cuts.push(scan, ...[0.1, 0.5, 0.9].map((f) => Math.floor(scan + f * (b.length - 2 - scan))), b.length - 2, b.length - 1);
      break;
    }
    at += 2 + len;
  }
  return cuts;
}

function riffBoundaries(webp: Uint8Array): number[] {
  const b = Buffer.from(webp);
  const cuts = [4, 8, 12];
  for (let at = 12; at + 8 <= b.length; ) {
    const size = b.readUInt32LE(at + 4);
    cuts.push(at + 4, at + 8, at + 8 + Math.floor(size / 2), at + 8 + size - 1);
    at += 8 + size + (size & 1);
  }
  return cuts;
}

/** GIF: header, screen descriptor, colour table, then each block up to the trailer. */
function gifBoundaries(gif: Uint8Array): number[] {
  const cuts = [3, 6, 10, 13];
  let at = 13;
  if (gif[10] & 0x80) at += 3 * (1 << ((gif[10] & 7) + 1));
  cuts.push(at);
  while (at < gif.length && gif[at] !== 0x3b) {
    if (gif[at] === 0x21) at += 2;
    else if (gif[at] === 0x2c) {
      const packed = gif[at + 9];
      at += 10;
      if (packed & 0x80) at += 3 * (1 << ((packed & 7) + 1));
      cuts.push(at);
      at += 1; // LZW minimum code size
    } else break;
    while (at < gif.length && gif[at] !== 0) {
      cuts.push(at + 1 + Math.floor(gif[at] / 2));
      at += gif[at] + 1;
    }
    at += 1;
    cuts.push(at);
  }
  return cuts;
}

function tiffBoundaries(tif: Uint8Array): number[] {
  const b = Buffer.from(tif);
  const ifd = b.readUInt32LE(4);
  const n = ifd + 2 <= b.length ? b.readUInt16LE(ifd) : 0;
  return [2, 4, 8, Math.floor(ifd / 2), ifd, ifd + 2, ifd + 2 + 6 * n, ifd + 2 + 12 * n, b.length - 1];
}

// ---- lying headers: a small file that claims 10^5 x 10^5 pixels (or its format's maximum) ----

function crc32(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function pngClaiming(png: Uint8Array, width: number, height: number, fixCrc = true): Buffer {
  const b = Buffer.from(png);
  const ihdr = pngChunks(b).find((c) => c.type === 'IHDR')!;
  b.writeUInt32BE(width, ihdr.dataStart);
  b.writeUInt32BE(height, ihdr.dataStart + 4);
  if (fixCrc) b.writeUInt32BE(crc32(b.subarray(ihdr.start + 4, ihdr.end - 4)), ihdr.end - 4);
  return b;
}

function jpegClaiming(jpg: Uint8Array, side: number): Buffer {
  const b = Buffer.from(jpg);
  for (let at = 2; at + 4 <= b.length && b[at] === 0xff; at += 2 + b.readUInt16BE(at + 2)) {
    if (b[at + 1] >= 0xc0 && b[at + 1] <= 0xc2) {
      b.writeUInt16BE(side, at + 5);
      b.writeUInt16BE(side, at + 7);
    }
  }
  return b;
}

function gifClaiming(gif: Uint8Array): Buffer {
  const b = Buffer.from(gif);
  b.writeUInt16LE(65535, 6);
  b.writeUInt16LE(65535, 8);
  return b;
}

/** A lossy WebP's VP8 frame header holds 14-bit sides: 16383 x 16383 = 268 megapixels. */
function webpClaiming(webp: Uint8Array): Buffer {
  const b = Buffer.from(webp);
  for (let at = 12; at + 8 <= b.length; at += 8 + b.readUInt32LE(at + 4) + (b.readUInt32LE(at + 4) & 1)) {
    const fourcc = b.toString('latin1', at, at + 4);
    if (fourcc === 'VP8 ') {
      b.writeUInt16LE(16383, at + 8 + 6);
      b.writeUInt16LE(16383, at + 8 + 8);
    }
  }
  return b;
}

function tiffClaiming(tif: Uint8Array): Buffer {
  const b = Buffer.from(tif);
  const ifd = b.readUInt32LE(4);
  const n = b.readUInt16LE(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + 12 * i;
    const tag = b.readUInt16LE(e);
    if (tag !== 256 && tag !== 257) continue;
    if (b.readUInt16LE(e + 2) === 3) b.writeUInt16LE(65535, e + 8);
    else b.writeUInt32LE(100000, e + 8);
  }
  return b;
}

// ---- JSON mutations: a model config or manifest with one value replaced ----

type Json = unknown;

function jsonPaths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (at.length) out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => jsonPaths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) jsonPaths(x, [...at, k], out);
  return out;
}

const REPLACEMENTS: Json[] = [null, -1, 0, 1e9, 3.5, 'x', '', [], {}, true, [1e6, 1e6], 'a'.repeat(10000)];

/** A deep copy with the value at one seeded path replaced (or deleted). */
export function mutateJson(root: Json, r: () => number): { value: Json; what: string } {
  const copy = JSON.parse(JSON.stringify(root)) as Json;
  const paths = jsonPaths(copy);
  const where = pick(r, paths);
  let parent = copy as Record<string | number, Json>;
  for (const k of where.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
  const key = where[where.length - 1];
  const replacement = r() < 0.15 ? undefined : pick(r, REPLACEMENTS);
  if (replacement === undefined && !Array.isArray(parent)) delete parent[key];
  else parent[key] = replacement ?? null;
  const shown = replacement === undefined ? 'deleted' : JSON.stringify(replacement).slice(0, 20);
  return { value: copy, what: `${where.join('.')} = ${shown}` };
}

/** An HDF5 file as a data pipeline writes one: a dataset, no Keras attributes. */
export async function writeNonKerasH5(file: string): Promise<string> {
  const h5 = await h5wasm();
  const f = new h5.File(file, 'w');
  try {
    f.create_group('measurements').create_dataset({ name: 'temperature', data: Float32Array.of(20.5, 21, 19.75), shape: [3] });
  } finally {
    f.close();
  }
  return file;
}

// ---- the corpus ----

export interface CorpusOptions {
  seed: number;
  /** Multiplies the number of seeded mutations per base file (1 in the suite, more in `npm run fuzz`). */
  scale?: number;
}

/** A 24x16 picture with structure in it (gradients, a bright square), so decoders have work to do. */
async function baseImages(): Promise<Record<string, Buffer>> {
  const w = 24;
  const h = 16;
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set([x * 10, y * 15, x > 8 && x < 16 && y > 4 && y < 12 ? 255 : 40], (y * w + x) * 3);
  const img = () => sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  return {
    png: await img().png().toBuffer(),
    jpg: await img().jpeg({ quality: 90 }).toBuffer(),
    webp: await img().webp({ quality: 80 }).toBuffer(),
    gif: await img().gif().toBuffer(),
    tif: await img().tiff().toBuffer(),
  };
}

const BOUNDARIES: Record<string, (b: Uint8Array) => number[]> = { png: pngBoundaries, jpg: jpegBoundaries, webp: riffBoundaries, gif: gifBoundaries, tif: tiffBoundaries };
const CLAIMING: Record<string, (b: Uint8Array) => Buffer> = {
  png: (b) => pngClaiming(b, 100000, 100000),
  jpg: (b) => jpegClaiming(b, 65000),
  webp: webpClaiming,
  gif: gifClaiming,
  tif: tiffClaiming,
};

/** Damaged images: every structural cut, lying headers, bit flips, empty and one-byte files. */
export async function imageInputs(dir: string, opts: CorpusOptions): Promise<{ file: string; what: string }[]> {
  mkdirSync(dir, { recursive: true });
  const r = rng(opts.seed);
  const scale = opts.scale ?? 1;
  const out: { file: string; what: string }[] = [];
  const put = (name: string, bytes: Uint8Array, what: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    out.push({ file, what });
  };
  put('empty.png', new Uint8Array(0), 'an empty file');
  put('one-byte.jpg', Uint8Array.of(0xff), 'one byte');
  for (const [ext, bytes] of Object.entries(await baseImages())) {
    put(`whole.${ext}`, bytes, `an undamaged ${ext}`);
    const cuts = [...new Set(BOUNDARIES[ext](bytes).filter((n) => n > 0 && n < bytes.length))].sort((a, b) => a - b);
    for (const n of cuts) put(`cut-${n}.${ext}`, bytes.subarray(0, n), `${ext} cut at byte ${n} of ${bytes.length}`);
    put(`lying.${ext}`, CLAIMING[ext](bytes), `${ext} whose header claims a huge size`);
    if (ext === 'png') {
      put('lying-badcrc.png', pngClaiming(bytes, 100000, 100000, false), 'png claiming 10^5 x 10^5 with a stale CRC');
      put('lying-small.png', pngClaiming(bytes, 9000, 9000), 'png claiming 9000 x 9000 (within the limit) with 24x16 of data');
      put('lying-zero.png', pngClaiming(bytes, 0, 16), 'png claiming a width of 0');
    }
    put(`magic-only.${ext}`, bytes.subarray(0, Math.min(12, bytes.length)), `${ext} magic bytes only`);
    for (let i = 0; i < 13 * scale; i++) {
      const flips = 1 + Math.floor(r() * 8);
      // Flips past the first bytes keep the format recognizable, so the decoder itself is tested.
      put(`flip-${i}.${ext}`, flipBits(bytes, r, flips, i % 2 ? 0 : 8), `${ext} with ${flips} flipped bit(s), variant ${i}`);
    }
  }
  return out;
}

/** The base models every model mutation starts from. */
export async function baseModels(dir: string): Promise<{ layersDir: string; h5: string; keras: string; graphDir: string }> {
  const layersDir = path.join(dir, 'base-layers');
  await saveModelTo(edgeModel(), layersDir);
  const h5 = await writeKeras2H5(path.join(dir, 'base.h5'), edgeModel());
  const seq = edgeModel();
  const config = k3Sequential('sequential', [null, 16, 16, 1], [
    k3Layer('Conv2D', 'edges', { filters: 2, kernel_size: [3, 3], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], groups: 1, activation: 'relu', use_bias: true }, undefined, [null, 16, 16, 1]),
    k3Layer('MaxPooling2D', 'pool', { pool_size: [2, 2], padding: 'valid', strides: [2, 2], data_format: 'channels_last' }, undefined, [null, 16, 16, 2]),
    k3Layer('Flatten', 'flat', { data_format: 'channels_last' }, undefined, [null, 8, 8, 2]),
    k3Layer('Dense', 'head', { units: 2, activation: 'softmax', use_bias: true }, undefined, [null, 128]),
  ]);
  const keras = await writeKeras3Zip(path.join(dir, 'base.keras'), config, {
    'layers/conv2d': layerArrays(seq.getLayer('edges')),
    'layers/max_pooling2d': [],
    'layers/flatten': [],
    'layers/dense': layerArrays(seq.getLayer('head')),
  });
  const graphDir = path.join(dir, 'base-graph');
  writeGraphModel(graphDir);
  return { layersDir, h5, keras, graphDir };
}

function copyModelDir(from: string, to: string): string {
  mkdirSync(to, { recursive: true });
  for (const f of ['model.json', 'weights.bin', 'group1-shard1of1.bin', 'labels.txt', 'cnnviz.json']) {
    try {
      copyFileSync(path.join(from, f), path.join(to, f));
    } catch {
      // not every base model has every file
    }
  }
  return path.join(to, 'model.json');
}

/** Damaged models: model.json, weight shards, .h5 and .keras, each cut, flipped and mutated. */
export async function modelInputs(dir: string, opts: CorpusOptions): Promise<{ file: string; what: string }[]> {
  const r = rng(opts.seed + 7919);
  const scale = opts.scale ?? 1;
  const base = await baseModels(dir);
  const out: { file: string; what: string }[] = [];
  let n = 0;
  const variant = () => path.join(dir, `m${n++}`);

  for (const [kind, baseDir, shard] of [
    ['layers', base.layersDir, 'weights.bin'],
    ['graph', base.graphDir, 'group1-shard1of1.bin'],
  ] as const) {
    const jsonText = readFileSync(path.join(baseDir, 'model.json'), 'utf8');
    const json = JSON.parse(jsonText) as Json;
    for (const frac of [0, 0.01, 0.3, 0.7, 0.99]) {
      const file = copyModelDir(baseDir, variant());
      writeFileSync(file, jsonText.slice(0, Math.floor(frac * jsonText.length)));
      out.push({ file, what: `${kind} model.json cut at ${Math.round(frac * 100)}%` });
    }
    for (let i = 0; i < (kind === 'layers' ? 30 : 16) * scale; i++) {
      const file = copyModelDir(baseDir, variant());
      const { value, what } = mutateJson(json, r);
      writeFileSync(file, JSON.stringify(value));
      out.push({ file, what: `${kind} model.json: ${what}` });
    }
    for (let i = 0; i < 3 * scale; i++) {
      const file = copyModelDir(baseDir, variant());
      writeFileSync(file, flipBits(Buffer.from(jsonText), r, 1 + Math.floor(r() * 4)));
      out.push({ file, what: `${kind} model.json with flipped bits, variant ${i}` });
    }
    const weights = readFileSync(path.join(baseDir, shard));
    const shardVariants: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['cut in half', weights.subarray(0, weights.length >> 1)],
      ['one byte short', weights.subarray(0, weights.length - 1)],
      ['four bytes long', Buffer.concat([weights, Buffer.alloc(4)])],
      ['all 0xff (NaN weights)', Buffer.alloc(weights.length, 0xff)],
    ];
    for (let i = 0; i < 6 * scale; i++) shardVariants.push([`flipped bits, variant ${i}`, flipBits(weights, r, 1 + Math.floor(r() * 16))]);
    for (const [what, bytes] of shardVariants) {
      const file = copyModelDir(baseDir, variant());
      writeFileSync(path.join(path.dirname(file), shard), bytes);
      out.push({ file, what: `${kind} weight shard: ${what}` });
    }
  }

  const h5 = readFileSync(base.h5);
  for (const cut of [0, 8, 64, 512, h5.length >> 2, h5.length >> 1, h5.length - 1]) {
    const file = path.join(dir, `m${n++}.h5`);
    writeFileSync(file, h5.subarray(0, cut));
    out.push({ file, what: `.h5 cut at byte ${cut} of ${h5.length}` });
  }
  for (let i = 0; i < 10 * scale; i++) {
    const file = path.join(dir, `m${n++}.h5`);
    writeFileSync(file, flipBits(h5, r, 1 + Math.floor(r() * 8), 8));
    out.push({ file, what: `.h5 with flipped bits, variant ${i}` });
  }
  const topology = edgeModel().toJSON(null, false) as unknown as { class_name: string; config: unknown };
  for (let i = 0; i < 14 * scale; i++) {
    const file = path.join(dir, `m${n++}.h5`);
    const { value, what } = mutateJson({ class_name: topology.class_name, config: topology.config }, r);
    await writeKeras2H5(file, edgeModel(), { config: value });
    out.push({ file, what: `.h5 model_config: ${what}` });
  }
  out.push({ file: await writeKeras2H5(path.join(dir, `m${n++}.h5`), edgeModel(), { weightsOnly: true }), what: '.h5 weights only' });
  out.push({ file: await writeNonKerasH5(path.join(dir, `m${n++}.h5`)), what: 'an HDF5 file that is not a Keras model' });

  const keras = readFileSync(base.keras);
  for (const cut of [0, 4, 30, keras.length >> 1, keras.length - 22, keras.length - 1]) {
    const file = path.join(dir, `m${n++}.keras`);
    writeFileSync(file, keras.subarray(0, cut));
    out.push({ file, what: `.keras cut at byte ${cut} of ${keras.length}` });
  }
  for (let i = 0; i < 8 * scale; i++) {
    const file = path.join(dir, `m${n++}.keras`);
    writeFileSync(file, flipBits(keras, r, 1 + Math.floor(r() * 8), 4));
    out.push({ file, what: `.keras with flipped bits, variant ${i}` });
  }
  const entries = unzipSync(new Uint8Array(keras));
  const config = JSON.parse(new TextDecoder().decode(entries['config.json'])) as Json;
  for (let i = 0; i < 16 * scale; i++) {
    const file = path.join(dir, `m${n++}.keras`);
    const { value, what } = mutateJson(config, r);
    writeFileSync(file, zipSync({ ...entries, 'config.json': strToU8(JSON.stringify(value)) }));
    out.push({ file, what: `.keras config.json: ${what}` });
  }
  const inner = entries['model.weights.h5'];
  for (const [what, bytes] of [
    ['model.weights.h5 cut in half', inner.subarray(0, inner.length >> 1)],
    ['model.weights.h5 with flipped bits', flipBits(inner, r, 6, 8)],
    ['model.weights.h5 deflated garbage', zlib.deflateRawSync(Buffer.from('not hdf5'))],
  ] as const) {
    const file = path.join(dir, `m${n++}.keras`);
    writeFileSync(file, zipSync({ ...entries, 'model.weights.h5': new Uint8Array(bytes) }));
    out.push({ file, what: `.keras whose ${what}` });
  }
  return out;
}
