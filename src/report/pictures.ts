import { existsSync, promises as fs } from 'node:fs';
import sharp = require('sharp');
import { writeFileAtomic } from '../image/io.js';
import { type Raster } from '../image/raster.js';

/** Photos, crops and overlays go out as JPEG (quality 82) to keep the pages light; dreams stay PNG. */
export async function jpeg(img: Raster): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: img.channels } }).jpeg({ quality: 82 }).toBuffer();
}

/** Write `bytes` unless the file already holds them (a re-run leaves modification times alone). */
export async function writeIfChangedBytes(file: string, bytes: Buffer): Promise<void> {
  const have = existsSync(file) ? await fs.readFile(file) : undefined;
  if (have && have.equals(bytes)) return;
  await writeFileAtomic(file, bytes);
}
