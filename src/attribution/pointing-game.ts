import sharp from 'sharp';
import { createRng, subSeed, type Rng } from '../dream/random.js';

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

/** How many grid cells a background photo is averaged down to before it is blown up again: nothing of a cat survives 6x6. */
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

/** A side x side RGB texture: oriented gratings and smooth blotches between two random colours. */
export function texture(side: number, seed: number): Buffer {
  const rng: Rng = createRng(seed);
  const colour = () => [0, 1, 2].map(() => 40 + 180 * rng.next());
  const [c0, c1] = [colour(), colour()];
  const gratings = Array.from({ length: 3 }, () => {
    const angle = Math.PI * rng.next();
    const period = 8 + 56 * rng.next();
    return { kx: (Math.cos(angle) * 2 * Math.PI) / period, ky: (Math.sin(angle) * 2 * Math.PI) / period, phase: 2 * Math.PI * rng.next(), amp: 0.2 + 0.3 * rng.next() };
  });
  // Blotches: a coarse random grid, bilinearly interpolated.
  const cells = 6;
  const grid = Array.from({ length: (cells + 1) * (cells + 1) }, () => rng.next() - 0.5);
  const out = Buffer.alloc(side * side * 3);
  for (let y = 0; y < side; y++) {
    const gy = (y / side) * cells;
    const y0 = Math.floor(gy);
    const wy = gy - y0;
    for (let x = 0; x < side; x++) {
      const gx = (x / side) * cells;
      const x0 = Math.floor(gx);
      const wx = gx - x0;
      const at = (i: number, j: number) => grid[(y0 + j) * (cells + 1) + x0 + i];
      let t = (at(0, 0) * (1 - wx) + at(1, 0) * wx) * (1 - wy) + (at(0, 1) * (1 - wx) + at(1, 1) * wx) * wy;
      for (const g of gratings) t += g.amp * Math.sin(g.kx * x + g.ky * y + g.phase);
      const f = Math.min(1, Math.max(0, 0.5 + t / 2));
      for (let c = 0; c < 3; c++) out[(y * side + x) * 3 + c] = Math.round(c0[c] * (1 - f) + c1[c] * f);
    }
  }
  return out;
}

/** The photo as pasted: centre-cropped to a square and resized to `size` (raw RGB). */
export async function pastedPhoto(photo: string, size: number): Promise<Buffer> {
  return sharp(photo).removeAlpha().toColourspace('srgb').resize(size, size, { fit: 'cover' }).raw().toBuffer();
}

/** The background, raw RGB side x side. */
export async function sceneBackground(plan: ScenePlan): Promise<Buffer> {
  const { side, background } = plan;
  if (background.kind === 'texture') return texture(side, background.seed);
  // Averaged down to a few cells (area kernel), blown up smoothly, then blurred: colours without shapes.
  const cells = await sharp(background.photo).removeAlpha().toColourspace('srgb').resize(BLUR_CELLS, BLUR_CELLS, { fit: 'cover', kernel: 'mitchell' }).png().toBuffer();
  return sharp(cells).resize(side, side, { kernel: 'cubic' }).blur(side / 24).removeAlpha().raw().toBuffer();
}

/** The scene as raw RGB (side x side x 3). */
export async function renderScene(plan: ScenePlan): Promise<Buffer> {
  const [back, photo] = await Promise.all([sceneBackground(plan), pastedPhoto(plan.photo, plan.box.size)]);
  const { side, box } = plan;
  for (let y = 0; y < box.size; y++) photo.copy(back, ((box.top + y) * side + box.left) * 3, y * box.size * 3, (y + 1) * box.size * 3);
  return back;
}

/** Whether a point (in scene pixels) falls inside the pasted photo. */
export function insideBox(plan: Pick<ScenePlan, 'box'>, x: number, y: number): boolean {
  const { left, top, size } = plan.box;
  return x >= left && x < left + size && y >= top && y < top + size;
}
