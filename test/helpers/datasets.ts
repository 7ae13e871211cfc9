import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodePng } from '../../src/image/io.js';

/** A picture of stripes (24 px unless asked), horizontal or vertical, with a random period, phase and colours. */
export async function stripes(file: string, vertical: boolean, rnd: () => number, size = 24): Promise<void> {
  const period = 3 + Math.floor(rnd() * 4);
  const phase = Math.floor(rnd() * period);
  const on = [150 + rnd() * 100, 150 + rnd() * 100, 150 + rnd() * 100];
  const off = [rnd() * 80, rnd() * 80, rnd() * 80];
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const lit = ((vertical ? x : y) + phase) % period < period / 2;
      data.set((lit ? on : off).map(Math.round), (y * size + x) * 3);
    }
  }
  writeFileSync(file, await encodePng({ data, width: size, height: size, channels: 3 }));
}

/** horizontal/ and vertical/ folders of stripe PNGs: a two-class problem a tiny CNN learns in seconds. */
export async function stripesDataset(dir: string, perClass = 60, seed = 7, size = 24): Promise<string> {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const cls of ['horizontal', 'vertical']) {
    mkdirSync(path.join(dir, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) await stripes(path.join(dir, cls, `${i}.png`), cls === 'vertical', rnd, size);
  }
  return dir;
}
