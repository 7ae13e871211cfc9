import fsSync, { promises as fs } from 'node:fs';
import type * as H5 from 'h5wasm/node';
import { reasonOf, RuntimeError, UsageError } from '../../errors.js';

export type H5File = H5.File;
export type H5Group = H5.Group;
type H5Module = typeof import('h5wasm/node');

let modulePromise: Promise<H5Module> | undefined;
let loadedModule: H5Module | undefined;

/**
 * h5wasm is ESM-only and instantiates a wasm HDF5 library, so it is imported on first use:
 * commands that never open a Keras file don't pay for it. Its console output functions are
 * captured at start-up; they get silent ones so nothing reaches stdout (--json, -o -).
 */
export function h5wasm(): Promise<H5Module> {
  modulePromise ??= (async () => {
    const saved = { error: console.error, log: console.log };
    console.error = console.log = () => {};
    try {
      const mod = await import('h5wasm/node');
      await mod.ready;
      loadedModule = mod;
      return mod;
    } finally {
      Object.assign(console, saved);
    }
  })();
  return modulePromise;
}

/** HDF5's innermost complaint in the first diagnostic stack: the line that says what is wrong. */
function innermostReason(diag: string): string | undefined {
  const first = diag.split('HDF5-DIAG').find((block) => block.trim() !== '') ?? '';
  const reasons = [...first.matchAll(/#\d+: .* in [\w.]+\(\): (.*)$/gm)].map((m) => m[1].trim());
  return reasons[reasons.length - 1];
}

/**
 * Run h5wasm calls for `file`. HDF5 writes a multi-line diagnostic stack straight to file
 * descriptor 2 for every failed call; those writes are captured instead, and a failure becomes
 * one line quoting HDF5's innermost reason. The calls are synchronous, so nothing else writes
 * to stderr meanwhile.
 */
export function hdf5<T>(file: string, fn: () => T): T {
  const original = fsSync.writeSync;
  let diag = '';
  const capture = (fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]): number => {
    if (fd !== 2) return (original as (...a: unknown[]) => number)(fd, data, ...rest);
    if (typeof data === 'string') {
      diag += data;
      return Buffer.byteLength(data);
    }
    const offset = typeof rest[0] === 'number' ? rest[0] : 0;
    const length = typeof rest[1] === 'number' ? rest[1] : data.byteLength - offset;
    diag += Buffer.from(data.buffer, data.byteOffset + offset, length).toString('utf8');
    return length;
  };
  fsSync.writeSync = capture as typeof fsSync.writeSync;
  try {
    return fn();
  } catch (err) {
    if (err instanceof UsageError || err instanceof RuntimeError) throw err;
    const reason = innermostReason(diag) ?? reasonOf(err);
    // A file HDF5 cannot read is a bad input file, like an undecodable image: exit 2.
    throw new UsageError(`cannot read ${file}: HDF5 says "${reason}"; is the file truncated or corrupt?`);
  } finally {
    fsSync.writeSync = original;
  }
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export async function fileStart(file: string, bytes = 64): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export const isHdf5 = (head: Buffer) => head.length >= 8 && SIGNATURE.every((b, i) => head[i] === b);
export const isZip = (head: Buffer) => head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;

/**
 * The file size HDF5's superblock records (its "end of file address"), so a cut-off
 * download can be reported as "N of M bytes" instead of HDF5's opaque failure.
 * Superblock versions 0/1 keep it after the base and free-space addresses; 2/3 after the
 * base and extension addresses. Undefined when the layout is not one of those.
 */
function storedEof(head: Buffer): number | undefined {
  if (!isHdf5(head) || head.length < 48) return undefined;
  const version = head[8];
  const offsetSize = version <= 1 ? head[13] : head[9];
  if (offsetSize !== 8) return undefined;
  const at = version <= 1 ? 24 + 2 * 8 + (version === 1 ? 4 : 0) : 12 + 2 * 8;
  if (at + 8 > head.length) return undefined;
  return Number(head.readBigUInt64LE(at));
}

/** Open an HDF5 file read-only, turning "not HDF5" and truncation into one-line errors. */
export async function openH5(file: string, what = 'Keras HDF5 file', shown = file): Promise<H5File> {
  const head = await fileStart(file);
  if (!isHdf5(head)) throw new UsageError(`cannot open ${shown}: not an HDF5 file (expected a ${what})`);
  const size = (await fs.stat(file)).size;
  const eof = storedEof(head);
  if (eof !== undefined && size < eof) {
    throw new UsageError(`cannot open ${shown}: the file is truncated (${size} of ${eof} bytes); copy or download it again`);
  }
  const h5 = await h5wasm();
  return hdf5(shown, () => {
    const f = new h5.File(file, 'r');
    // A failed open leaves an invalid id rather than throwing.
    if (f.file_id < 0n) throw new Error('unable to open file');
    return f;
  });
}

/** An attribute as text: h5py writes JSON configs as str or as bytes. */
export function textAttr(node: H5.Group, name: string): string | undefined {
  const attr = node.attrs[name];
  if (!attr) return undefined;
  const v = attr.value;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (Array.isArray(v) && typeof v[0] === 'string') return v.join('');
  return v == null ? undefined : String(v);
}

/** A string-list attribute (layer_names, weight_names), whatever its stored width. */
export function stringListAttr(node: H5.Group, name: string): string[] {
  const attr = node.attrs[name];
  if (!attr) return [];
  const v = attr.value;
  if (v == null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((s) => (s instanceof Uint8Array ? new TextDecoder().decode(s) : String(s)));
}

export interface StoredWeight {
  /** The name the file gives it (`conv2d/kernel:0`, or `0`, `1` … in Keras 3). */
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Read one dataset as float32, whatever it was stored as (float64, int64 counters, …). */
export function readDataset(file: H5File, path: string, name = path): StoredWeight {
  const node = file.get(path);
  if (!loadedModule || !(node instanceof loadedModule.Dataset)) {
    throw new UsageError(`weight ${path} is missing from ${file.filename}`);
  }
  const ds = node;
  const raw = ds.value;
  const shape = ds.shape ?? [];
  let values: Float32Array;
  if (raw instanceof Float32Array) values = raw;
  else if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) values = Float32Array.from(raw, (b) => Number(b));
  else if (ArrayBuffer.isView(raw)) values = Float32Array.from(raw as unknown as ArrayLike<number>);
  else if (typeof raw === 'number' || typeof raw === 'bigint') values = Float32Array.of(Number(raw));
  else throw new UsageError(`weight ${path} in ${file.filename} has unsupported type ${JSON.stringify(ds.dtype)}`);
  return { name, shape, values };
}
