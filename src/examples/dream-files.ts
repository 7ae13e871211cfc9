import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { readImage } from '../image/io.js';
import { type Raster } from '../image/raster.js';
import { dreamFileName } from '../dream/file-name.js';

// Dreams read from a folder (`examples --with-dream DIR`): no dream module, no tfjs.

const fileSafe = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_');

/** The file `cnnviz dream --layer L --filter F` writes by default: what --with-dream DIR looks for. */
export function dreamFileFor(layerName: string, filter: number): string {
  return dreamFileName({ layer: fileSafe(layerName), units: [filter], objective: 'channel', minimize: false });
}

/** Dreams painted before, one file per filter named as `cnnviz dream` names them. */
export async function readDreams(dir: string, layerName: string, filters: number[]): Promise<Raster[]> {
  return Promise.all(
    filters.map((f) => {
      const file = path.join(dir, dreamFileFor(layerName, f));
      if (!existsSync(file)) {
        throw new UsageError(`no dream of filter ${f} in ${dir}: expected ${path.basename(file)} (paint it with cnnviz dream --layer ${layerName} --filter ${f} -o ${file}, or give --with-dream without a folder)`);
      }
      return readImage(file, { channels: 3 });
    }),
  );
}
