import { createRng, subSeed, type Rng } from '../dream/random.js';
import { readImage } from '../image/io.js';
import { blit, createRaster, type Raster } from '../image/raster.js';

/**
 * Scenes for the pointing game (Zhang et al. 2016, as issue 20 asks it): one photo of a cat
 * or a dog pasted at a random place on a background three times its side, so a map that
 * points at the animal must point inside a known box. The background is either a photo of
 * the *other* class blurred beyond recognition (its colours, none of its shapes), or a
 * procedural texture; both seeded, so scene i is the same on every run.
 * scripts/pointing-game.js plays the game with `cnnviz cam`.
 */

export type Animal = 'cat' | 'dog';

export interface ScenePlan {
  /** The pasted photo and its class. */
  photo: string;
  animal: Animal;
  /** Where the photo lands in the scene, in pixels: a square of `box.size`. */
  box: { left: number; top: number; size: number };
  /** The scene's side: 3 × box.size. */
  side: number;
  /** A blurred photo of the other class, or a texture drawn from `seed`. */
  background: { kind: 'blurred-photo'; photo: string; animal: Animal } | { kind: 'texture'; seed: number };
}

/** How many cells a background photo is shrunk to before it is blown up again: nothing of a cat survives 6x6. */
const BLUR_CELLS = 6;

/** `count` scenes from the photos of each class: the animal, photo, place and background drawn from `seed`; photos `size` px. */
export function planScenes(photos: Record<Animal, readonly string[]>, count: number, seed: number, size = 224): ScenePlan[] {
  for (const a of ['cat', 'dog'] as const) if (!photos[a].length) throw new RangeError(`planScenes: no ${a} photos`);
  const rng = createRng(subSeed(seed, 20));
  return Array.from({ length: count }, (_, i) => {
    const animal: Animal = rng.next() < 0.5 ? 'cat' : 'dog';
    const other: Animal = animal === 'cat' ? 'dog' : 'cat';
    const photo = rng.pick(photos[animal]);
    const side = 3 * size;
    const box = { left: rng.int(0, side - size), top: rng.int(0, side - size), size };
    const background: ScenePlan['background'] = rng.next() < 0.5 ? { kind: 'blurred-photo', photo: rng.pick(photos[other]), animal: other } : { kind: 'texture', seed: subSeed(seed, 21, i) };
    return { photo, animal, box, side, background };
  });
}

/** Bilinear enlargement of a small raster to side x side (cell centres at half-pixel positions): smooth, with no detail of its own. */
export function smoothUpscale(src: Raster, side: number): Raster {
  const out = createRaster(side, side, src.channels);
  const c = src.channels;
  const at = (v: number, n: number) => {
    const f = Math.min(Math.max(((v + 0.5) * n) / side - 0.5, 0), n - 1);
    const i = Math.min(Math.floor(f), Math.max(0, n - 2));
    return { i, j: Math.min(i + 1, n - 1), w: f - i };
  };
  for (let y = 0; y < side; y++) {
    const r = at(y, src.height);
    for (let x = 0; x < side; x++) {
      const q = at(x, src.width);
      for (let k = 0; k < c; k++) {
        const v = (yy: number, xx: number) => src.data[(yy * src.width + xx) * c + k];
        const top = v(r.i, q.i) * (1 - q.w) + v(r.i, q.j) * q.w;
        const bottom = v(r.j, q.i) * (1 - q.w) + v(r.j, q.j) * q.w;
        out.data[(y * side + x) * c + k] = Math.round(top * (1 - r.w) + bottom * r.w);
      }
    }
  }
  return out;
}

/** A side x side RGB texture: oriented gratings over smooth blotches, between two random colours. */
export function texture(side: number, seed: number): Raster {
  const rng: Rng = createRng(seed);
  const colour = () => [0, 1, 2].map(() => 40 + 180 * rng.next());
  const [c0, c1] = [colour(), colour()];
  const gratings = Array.from({ length: 3 }, () => {
    const angle = Math.PI * rng.next();
    const period = 8 + 56 * rng.next();
    return { kx: (Math.cos(angle) * 2 * Math.PI) / period, ky: (Math.sin(angle) * 2 * Math.PI) / period, phase: 2 * Math.PI * rng.next(), amp: 0.2 + 0.3 * rng.next() };
  });
  const cells = createRaster(7, 7, 1);
  cells.data.forEach((_, i) => (cells.data[i] = Math.floor(256 * rng.next())));
  const blotches = smoothUpscale(cells, side);
  const out = createRaster(side, side, 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let t = blotches.data[y * side + x] / 255 - 0.5;
      for (const g of gratings) t += g.amp * Math.sin(g.kx * x + g.ky * y + g.phase);
      const f = Math.min(1, Math.max(0, 0.5 + t / 2));
      for (let c = 0; c < 3; c++) out.data[(y * side + x) * 3 + c] = Math.round(c0[c] * (1 - f) + c1[c] * f);
    }
  }
  return out;
}

/** The photo as pasted: centre-cropped to a square and resized to `size`, as a model's input is (image/io.ts). */
export async function pastedPhoto(photo: string, size: number): Promise<Raster> {
  return readImage(photo, { channels: 3, size: [size, size], fit: 'cover' });
}

/** The background, side x side RGB. */
export async function sceneBackground(plan: ScenePlan): Promise<Raster> {
  const { side, background } = plan;
  if (background.kind === 'texture') return texture(side, background.seed);
  // Averaged down to a few cells, then blown up smoothly: colours without shapes.
  return smoothUpscale(await readImage(background.photo, { channels: 3, size: [BLUR_CELLS, BLUR_CELLS], fit: 'cover' }), side);
}

/** The scene, side x side RGB. */
export async function renderScene(plan: ScenePlan): Promise<Raster> {
  const [scene, photo] = await Promise.all([sceneBackground(plan), pastedPhoto(plan.photo, plan.box.size)]);
  blit(scene, photo, plan.box.left, plan.box.top);
  return scene;
}

/** Whether a point (in scene pixels) falls inside the pasted photo. */
export function insideBox(plan: Pick<ScenePlan, 'box'>, x: number, y: number): boolean {
  const { left, top, size } = plan.box;
  return x >= left && x < left + size && y >= top && y < top + size;
}
