import { closeSync, mkdirSync, openSync, promises as fs, rmSync, writeFile, statSync, accessSync, constants as fsConstants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import sharp = require('sharp');
import { reasonOf, RuntimeError, UsageError } from '../errors.js';
import { trackCreatedFolder, trackTempFile } from '../signal-cleanup.js';
import { type Raster } from './raster.js';
import { refuseTerminalStdin, type StdinLike } from './stdin.js';

export type Fit = 'cover' | 'contain' | 'fill';
export const FITS: readonly Fit[] = ['cover', 'contain', 'fill'];

/** Read image bytes from a path, or from standard input when the path is `-`. */
export async function readImageBytes(source: string, stdin: NodeJS.ReadableStream & StdinLike = process.stdin): Promise<Buffer> {
  if (source === '-') {
    refuseTerminalStdin(stdin);
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    const buf = Buffer.concat(chunks);
    if (buf.length === 0) throw new UsageError("no image data on standard input (the image was given as '-')");
    return buf;
  }
  try {
    return await fs.readFile(source);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`image not found: ${source}`);
    if (code === 'EISDIR') throw new UsageError(`image path is a folder, not a file: ${source}`);
    throw new RuntimeError(`cannot read image ${source}: ${(err as Error).message}`);
  }
}

export interface DecodeOptions {
  /** 1 for gray models, 3 for colour ones. */
  channels: 1 | 3;
  /** Target [height, width]; omitted keeps the image's own size. */
  size?: [number, number];
  fit?: Fit;
  /** Longest side allowed when no size is given (free-size models). */
  maxSide?: number;
  /** Largest image accepted, in megapixels, read from the header before decoding (default 100; --max-pixels). */
  maxMegapixels?: number;
  /**
   * Called with the size the image will be decoded to (after `size`/`maxSide`), read from its
   * header: a command whose work grows with the image checks here that it will fit.
   */
  beforeDecode?: (width: number, height: number) => void;
}

/** Images over this many megapixels are refused unless --max-pixels lifts the limit. */
export const DEFAULT_MAX_MEGAPIXELS = 100;

/**
 * Refuse an image whose header claims more pixels than the limit, before a byte of it is
 * decoded: a 16000x16000 PNG, or a 200-byte file whose header lies about 10^5 x 10^5, would
 * otherwise be decoded (or tried) at full size.
 */
export function checkPixelLimit(name: string, width: number, height: number, maxMegapixels = DEFAULT_MAX_MEGAPIXELS): void {
  const megapixels = (width * height) / 1e6;
  if (megapixels <= maxMegapixels) return;
  const shown = megapixels >= 10 ? Math.round(megapixels) : Number(megapixels.toFixed(1));
  const lift = Math.ceil(megapixels / 100) * 100;
  throw new UsageError(`${name} is ${width}x${height} = ${shown} megapixels, over the ${maxMegapixels}-megapixel limit: lift it with --max-pixels ${lift}`);
}

/** The container an image's first bytes announce, so a failed decode can say what it was. */
export function sniffImageFormat(bytes: Uint8Array): string | undefined {
  const at = (i: number, ...b: number[]) => b.every((v, k) => bytes[i + k] === v);
  const ascii = (i: number, s: string) => at(i, ...Array.from(s, (c) => c.charCodeAt(0)));
  if (at(0, 0xff, 0xd8, 0xff)) return 'JPEG';
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'PNG';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'GIF';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'WebP';
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return 'TIFF';
  if (ascii(4, 'ftyp') && (ascii(8, 'avif') || ascii(8, 'avis') || ascii(8, 'heic') || ascii(8, 'mif1'))) return 'AVIF';
  return undefined;
}

/**
 * Decode anything sharp reads (JPEG, PNG, WebP, GIF, TIFF, AVIF; gray, alpha, 16-bit,
 * EXIF-rotated) into 8-bit samples with the model's channel count. Alpha is flattened onto
 * white, as an image viewer shows it, rather than dropped to whatever the colour under it was.
 */
export async function decodeImage(bytes: Buffer, opts: DecodeOptions, name = 'image'): Promise<Raster> {
  if (bytes.length === 0) throw new UsageError(`${name} is empty (0 bytes): not an image`);
  // The pixel limit is ours (checked from the header below), so sharp's own is switched off:
  // its "exceeds pixel limit" would otherwise pass for an unreadable file.
  let img = sharp(bytes, { failOn: 'truncated', animated: false, limitInputPixels: false }).rotate();
  const format = sniffImageFormat(bytes);
  try {
    const meta = await img.metadata();
    if (!meta.width || !meta.height) throw new Error('no dimensions');
    checkPixelLimit(name, meta.width, meta.height, opts.maxMegapixels);
    opts.beforeDecode?.(...decodedSize(meta.width, meta.height, opts));
    if (meta.hasAlpha) img = img.flatten({ background: '#ffffff' });
    if (opts.size) {
      const [height, width] = opts.size;
      img = img.resize({ width, height, fit: opts.fit ?? 'cover', background: { r: 0, g: 0, b: 0 }, kernel: 'lanczos3' });
    } else if (opts.maxSide && Math.max(meta.width, meta.height) > opts.maxSide) {
      img = img.resize({ width: opts.maxSide, height: opts.maxSide, fit: 'inside' });
    }
    // Gray is computed here with Rec.601 luma (as PIL and tf.image.rgb_to_grayscale do), not
    // libvips' perceptual b-w, so a gray model sees what it saw in training.
    img = img.toColourspace('srgb');
    const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const raster: Raster = { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels as Raster['channels'] };
    return raster.channels === opts.channels ? raster : forceChannels(raster, opts.channels);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // A file that starts like a known format but does not decode is damaged, not unsupported.
    if (format) throw new UsageError(`cannot decode ${name}: a truncated or corrupt ${format} file (${decodeReason(err)})`);
    throw new UsageError(`cannot decode ${name}: not an image sharp can read (JPEG, PNG, WebP, GIF, TIFF, AVIF) (${decodeReason(err)})`);
  }
}

/** The [width, height] decodeImage will produce for an image of this size. */
function decodedSize(width: number, height: number, opts: DecodeOptions): [number, number] {
  if (opts.size) return [opts.size[1], opts.size[0]];
  const longer = Math.max(width, height);
  if (!opts.maxSide || longer <= opts.maxSide) return [width, height];
  const f = opts.maxSide / longer;
  return [Math.max(1, Math.round(width * f)), Math.max(1, Math.round(height * f))];
}

/** libvips' complaint in one short line: its messages repeat themselves over several lines. */
function decodeReason(err: unknown): string {
  const lines = String((err as Error)?.message ?? err)
    .split('\n')
    .map((l) => l.replace(/^Input buffer has corrupt header:\s*/, '').trim())
    .filter((l) => l !== '');
  return reasonOf(lines[0] ?? 'corrupt header');
}

export async function readImage(source: string, opts: DecodeOptions): Promise<Raster> {
  return decodeImage(await readImageBytes(source), opts, source === '-' ? 'standard input' : source);
}

/** Settle the channel count the model wants: luma for gray models, repetition for colour ones. */
function forceChannels(src: Raster, channels: 1 | 3): Raster {
  const n = src.width * src.height;
  const out = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    const s = i * src.channels;
    if (channels === 1) {
      out[i] = src.channels >= 3 ? Math.round(0.299 * src.data[s] + 0.587 * src.data[s + 1] + 0.114 * src.data[s + 2]) : src.data[s];
    } else {
      const rgb = src.channels >= 3 ? [src.data[s], src.data[s + 1], src.data[s + 2]] : [src.data[s], src.data[s], src.data[s]];
      out.set(rgb, i * 3);
    }
  }
  return { data: out, width: src.width, height: src.height, channels };
}

/** zlib's level: 6 is the usual balance; lower levels trade file size for encoding time. */
export async function encodePng(img: Raster, compressionLevel = 6): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: img.channels },
  })
    .png({ compressionLevel })
    .toBuffer();
}

/**
 * Write bytes to `dest`, or to stdout when dest is `-`. Files appear whole or not at all:
 * the bytes go to a temporary file beside the target, which is then renamed over it.
 */
export async function writeOutput(dest: string, bytes: Buffer | Uint8Array): Promise<void> {
  if (dest === '-') {
    await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())));
    return;
  }
  await writeFileAtomic(dest, bytes);
}

export async function writeFileAtomic(dest: string, bytes: Buffer | Uint8Array | string): Promise<void> {
  const dir = path.dirname(path.resolve(dest));
  // The folder and the temp file are created synchronously, on this thread: a signal handler
  // runs only between JavaScript calls, so it sees them either not yet made or already made
  // and tracked. Made by the thread pool, they could appear after the handler has cleaned up,
  // just before the signal ends the process, and outlive it.
  try {
    const made = mkdirSync(dir, { recursive: true });
    if (made) trackCreatedFolder(dir, made);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file stands where a folder is needed' : describeErrno(err);
    throw new UsageError(`cannot create output folder ${path.dirname(dest)}: ${why}`);
  }
  // A device or pipe (-o /dev/null, a FIFO) is written through: renaming over it would replace it.
  const existing = await fs.stat(dest).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new UsageError(`output ${dest} is a folder: give a file name inside it, e.g. ${path.join(dest, 'out.png')}`);
  }
  if (existing && !existing.isFile()) {
    await fs.writeFile(dest, bytes).catch((err) => {
      throw writeError(dest, err);
    });
    return;
  }
  // The random part keeps two writes of one file in the same millisecond apart ('wx' refuses a clash).
  const tmp = path.join(dir, `.${path.basename(dest)}.${process.pid}.${Date.now()}.${randomBytes(3).toString('hex')}.tmp`);
  const done = trackTempFile(tmp);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      await writeToFd(fd, bytes);
    } finally {
      closeSync(fd);
    }
    await fs.rename(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    // The message names the file the user asked for, never our temp file.
    throw writeError(dest, err);
  } finally {
    done();
  }
}

/** fs.writeFile on an open descriptor (the promises API takes only paths or FileHandles). */
function writeToFd(fd: number, bytes: Buffer | Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => writeFile(fd, bytes, (err) => (err ? reject(err) : resolve())));
}

export async function writePng(dest: string, img: Raster): Promise<void> {
  await writeOutput(dest, await encodePng(img));
}

/**
 * Refuse an output path that cannot be written, before any slow work starts (`-o -` always
 * passes). The rule, one for every command: the folder an output goes into must exist; cnnviz
 * creates only a folder that you name as the output (`-o out/`, `--out-dir`, `train -o`), never
 * the folders above it. Writability is tried by creating (and removing) a file, so a read-only
 * mount or a full permission check fails here even for root. Messages name the path as given.
 */
export function checkOutputWritable(dest: string, kind: 'file' | 'folder' = 'file'): void {
  if (dest === '-') return;
  const shown = kind === 'folder' ? `output folder ${dest}` : dest;
  const existing = statOrUndefined(dest, shown);
  if (existing) {
    if (kind === 'folder') {
      if (!existing.isDirectory()) throw new UsageError(`${shown} is a file, not a folder: give a folder (or a new name) to write into`);
      return tryCreating(dest, shown);
    }
    if (existing.isDirectory()) throw new UsageError(`output ${dest} is a folder: give a file name inside it, e.g. ${path.join(dest, 'out.png')}`);
    if (!existing.isFile()) {
      // A device or pipe is written through, not replaced.
      try {
        accessSync(dest, fsConstants.W_OK);
      } catch (err) {
        throw new UsageError(`cannot write ${dest}: ${describeErrno(err)}`);
      }
      return;
    }
    return tryCreating(path.dirname(dest), shown);
  }
  const parent = path.dirname(dest);
  const parentStat = statOrUndefined(parent, shown);
  if (!parentStat) {
    throw new UsageError(`cannot write ${shown}: folder ${parent} does not exist (create it first: cnnviz makes only the output folder itself, never its parents)`);
  }
  if (!parentStat.isDirectory()) throw new UsageError(`cannot write ${shown}: ${parent} is a file, not a folder`);
  tryCreating(parent, shown);
}

function statOrUndefined(file: string, shown: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // ENOTDIR: a file stands where a folder of the path should be (file.txt/x.png).
    throw new UsageError(`cannot write ${shown}: ${code === 'ENOTDIR' ? `${fileInPath(file)} is a file, not a folder` : describeErrno(err)}`);
  }
}

/** The part of a path that is a file where a folder should be (file.txt in file.txt/x.png). */
function fileInPath(file: string): string {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      if (statSync(dir).isFile()) return dir;
    } catch {
      // not this one: its own parent is the file
    }
  }
  return 'a part of the path';
}

/** Create and remove a file in `dir`: the only check that tells what a write will meet. */
function tryCreating(dir: string, shown: string): void {
  // Synchronous from creation to removal: no signal handler could run in between, so none is armed.
  const probe = path.join(dir, `.cnnviz-write-check.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    closeSync(openSync(probe, 'wx'));
    rmSync(probe, { force: true });
  } catch (err) {
    throw new UsageError(`cannot write ${shown}: ${dir === '.' ? 'the current folder' : `folder ${dir}`} does not accept new files: ${describeErrno(err)}`);
  }
}

/** A write that failed: the path the user gave is at fault (exit 2) unless the disk or device is. */
function writeError(dest: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const message = `cannot write ${dest}: ${describeErrno(err)}`;
  return code && PATH_ERRORS.has(code) ? new UsageError(message) : new RuntimeError(message);
}

const PATH_ERRORS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG', 'ELOOP']);

const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a file stands where a folder is needed',
  EISDIR: 'it is a folder',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  EIO: 'input/output error',
};

/** An fs error as words, without the paths Node puts in its message (they may be our temp file's). */
function describeErrno(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code) return ERRNO_TEXT[code] ? `${ERRNO_TEXT[code]} (${code})` : code;
  return reasonOf(err);
}
