import { promises as fs } from 'node:fs';
import path from 'node:path';
import { RuntimeError, UsageError } from '../errors.js';
import { readImage } from '../image/io.js';
import { createRng, shuffleInPlace, type Rng } from './random.js';

/** File endings read as images; anything else in a class folder (.DS_Store, notes) is ignored. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export interface LabeledFile {
  file: string;
  label: number;
}

export interface DatasetFiles {
  root: string;
  classes: string[];
  /** 'split': the folder has train/ and val/; 'folders': one folder per class, val drawn with --val-split. */
  layout: 'split' | 'folders';
  train: LabeledFile[];
  val: LabeledFile[];
}

export interface ScanOptions {
  /** Fraction of each class held out for validation when there is no val/ folder. */
  valSplit: number;
  seed: number;
  /** Use at most this many training images per class (a seeded sample); validation stays whole. */
  limit?: number;
}

async function subfolders(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

async function imagesIn(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase()))
    .map((e) => path.join(dir, e.name))
    .sort();
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** One folder per class under `dir`, each with at least one image. */
async function readClassFolders(dir: string): Promise<Map<string, string[]>> {
  const classes = await subfolders(dir);
  if (classes.length < 2) {
    const found = classes.length === 0 ? 'no class folders' : `only 1 class folder (${classes[0]})`;
    throw new UsageError(`dataset ${dir} has ${found}: need at least 2, one folder of images per class`);
  }
  const byClass = new Map<string, string[]>();
  for (const name of classes) {
    const files = await imagesIn(path.join(dir, name));
    if (files.length === 0) {
      throw new UsageError(`class '${name}' in ${dir} has no images (${IMAGE_EXTENSIONS.join(' ')}): remove the folder or add images`);
    }
    byClass.set(name, files);
  }
  return byClass;
}

/**
 * Find the classes and the train/val files of a dataset folder. Everything is sorted before
 * any seeded shuffle, so the same folder and seed give the same split on every machine.
 */
export async function scanDataset(root: string, opts: ScanOptions): Promise<DatasetFiles> {
  if (!(await isDir(root))) {
    throw new UsageError(`dataset folder not found: ${root} (expected one folder of images per class, or train/ and val/ holding them)`);
  }
  const rng = createRng(opts.seed);
  const trainDir = path.join(root, 'train');
  const valDir = ['val', 'validation'].map((v) => path.join(root, v));
  const foundVal = (await Promise.all(valDir.map(isDir))).findIndex(Boolean);
  let classes: string[];
  let train: LabeledFile[] = [];
  let val: LabeledFile[] = [];
  let layout: DatasetFiles['layout'];

  if ((await isDir(trainDir)) && foundVal >= 0) {
    layout = 'split';
    const trainSet = await readClassFolders(trainDir);
    const valSet = await readClassFolders(valDir[foundVal]);
    classes = [...trainSet.keys()];
    const missing = classes.filter((c) => !valSet.has(c));
    const extra = [...valSet.keys()].filter((c) => !trainSet.has(c));
    if (missing.length || extra.length) {
      const what = missing.length ? `has no folder for class '${missing[0]}'` : `has class '${extra[0]}' that train/ lacks`;
      throw new UsageError(`${valDir[foundVal]} ${what}: train/ and val/ need the same class folders (${classes.join(', ')})`);
    }
    classes.forEach((name, label) => {
      train.push(...sample(trainSet.get(name)!, opts.limit, rng).map((file) => ({ file, label })));
      val.push(...valSet.get(name)!.map((file) => ({ file, label })));
    });
  } else {
    layout = 'folders';
    const all = await readClassFolders(root);
    classes = [...all.keys()];
    classes.forEach((name, label) => {
      const files = shuffleInPlace([...all.get(name)!], rng);
      if (files.length < 2) {
        throw new UsageError(`class '${name}' in ${root} has 1 image: need at least 2 to hold some out for validation (--val-split ${opts.valSplit})`);
      }
      const nVal = Math.min(files.length - 1, Math.max(1, Math.round(files.length * opts.valSplit)));
      val.push(...files.slice(0, nVal).map((file) => ({ file, label })));
      train.push(...sample(files.slice(nVal), opts.limit, rng).map((file) => ({ file, label })));
    });
  }
  return { root, classes, layout, train, val };
}

function sample(files: string[], limit: number | undefined, rng: Rng): string[] {
  if (limit === undefined || files.length <= limit) return files;
  return shuffleInPlace([...files], rng).slice(0, limit).sort();
}

/** Decoded images of one split, all at one size, kept as bytes: ~28 KB each at 96 px. */
export interface ImageSet {
  size: number;
  /** N × size × size × channels interleaved bytes. */
  pixels: Uint8Array;
  /** 3 (RGB) unless the model takes grey pictures; absent means 3. */
  channels?: 1 | 3;
  labels: Int32Array;
  files: string[];
  count: number;
}

export interface DecodeReport {
  set: ImageSet;
  skipped: { file: string; reason: string }[];
}

/** At most this fraction of a split may be unreadable before training refuses to go on. */
export const MAX_UNREADABLE_FRACTION = 0.1;

/**
 * Decode every image once, resized exactly as `predict` resizes it (shorter side to `size`,
 * centre crop), so validation here and `cnnviz predict` later see the same pixels.
 * Unreadable files are skipped and reported (see checkUnreadable).
 */
export async function decodeImages(items: LabeledFile[], size: number, onProgress?: (done: number) => void, concurrency = 4, channels: 1 | 3 = 3): Promise<DecodeReport> {
  const per = size * size * channels;
  const pixels = new Uint8Array(items.length * per);
  const ok = new Array<boolean>(items.length).fill(false);
  const skipped: DecodeReport['skipped'] = [];
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        const img = await readImage(items[i].file, { channels, size: [size, size], fit: 'cover' });
        pixels.set(img.data, i * per);
        ok[i] = true;
      } catch (err) {
        skipped.push({ file: items[i].file, reason: String((err as Error).message ?? err).split('\n')[0] });
      }
      onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));

  const keep = items.map((_, i) => i).filter((i) => ok[i]);
  const packed = keep.length === items.length ? pixels : new Uint8Array(keep.length * per);
  if (packed !== pixels) keep.forEach((i, j) => packed.set(pixels.subarray(i * per, (i + 1) * per), j * per));
  skipped.sort((a, b) => a.file.localeCompare(b.file));
  return {
    set: { size, channels, pixels: packed, labels: Int32Array.from(keep.map((i) => items[i].label)), files: keep.map((i) => items[i].file), count: keep.length },
    skipped,
  };
}

/**
 * Skipping a few unreadable files is fine; when more than 10% of all of them fail, something is
 * wrong. Every class must keep at least one readable image in every split.
 */
export function checkDecoded(splits: DecodeReport[], classes: string[]): void {
  const skipped = splits.flatMap((s) => s.skipped);
  const total = splits.reduce((n, s) => n + s.set.count, skipped.length);
  if (skipped.length > Math.max(1, MAX_UNREADABLE_FRACTION * total)) {
    throw new RuntimeError(`${skipped.length} of ${total} images are unreadable (more than ${MAX_UNREADABLE_FRACTION * 100}%), e.g. ${skipped[0].file}: fix or remove them`);
  }
  for (const { set } of splits) {
    const empty = classes.findIndex((_, c) => !set.labels.includes(c));
    if (empty >= 0) throw new RuntimeError(`class '${classes[empty]}' has no readable images left after skipping ${skipped.length} unreadable file(s), e.g. ${skipped[0]?.file}`);
  }
}

/** Images per class in a decoded set, in class order. */
export function classCounts(set: ImageSet, classes: string[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
  for (const l of set.labels) counts[classes[l]]++;
  return counts;
}
