import path from 'node:path';
import sharp from 'sharp';
import { insideBox, pastedPhoto, planScenes, renderScene, sceneBackground, type ScenePlan } from '../src/attribution/pointing-game.js';
import { ROOT, runCli } from './helpers/cli.js';
import { edgeModel, saveModelTo, tempDir } from './helpers/models.js';

const dir = tempDir('cnnviz-pointing-');

/** A 64 px "photo": a checkerboard of 4 px squares in one colour and black, so sharp detail and a known colour. */
async function checkerPhoto(file: string, rgb: [number, number, number]): Promise<string> {
  const side = 64;
  const data = Buffer.alloc(side * side * 3);
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) if (((x >> 2) + (y >> 2)) % 2 === 0) rgb.forEach((v, c) => (data[(y * side + x) * 3 + c] = v));
  await sharp(data, { raw: { width: side, height: side, channels: 3 } }).png().toFile(file);
  return file;
}

/** Mean |difference| between horizontally neighbouring pixels of raw RGB: the detail an image has. */
function detail(raw: Buffer, width: number, height: number): number {
  let sum = 0;
  for (let y = 0; y < height; y++) for (let x = 1; x < width; x++) for (let c = 0; c < 3; c++) sum += Math.abs(raw[(y * width + x) * 3 + c] - raw[(y * width + x - 1) * 3 + c]);
  return sum / (height * (width - 1) * 3);
}

describe('pointing-game scenes', () => {
  let photos: { cat: string[]; dog: string[] };
  let plans: ScenePlan[];
  beforeAll(async () => {
    photos = { cat: [await checkerPhoto(path.join(dir, 'cat.png'), [255, 0, 0])], dog: [await checkerPhoto(path.join(dir, 'dog.png'), [0, 0, 255])] };
    plans = planScenes(photos, 12, 3, 48);
  });

  test('plans are seeded, inside the scene, three times the photo, with both kinds of background', () => {
    expect(planScenes(photos, 12, 3, 48)).toEqual(plans);
    expect(planScenes(photos, 12, 4, 48)).not.toEqual(plans);
    for (const p of plans) {
      expect(p.side).toBe(144);
      expect(p.photo).toBe(photos[p.animal][0]);
      expect(p.box.left).toBeGreaterThanOrEqual(0);
      expect(p.box.left + p.box.size).toBeLessThanOrEqual(p.side);
      expect(p.box.top + p.box.size).toBeLessThanOrEqual(p.side);
      if (p.background.kind === 'blurred-photo') {
        expect(p.background.animal).not.toBe(p.animal);
        expect(p.background.photo).toBe(photos[p.background.animal][0]);
      }
    }
    expect(new Set(plans.map((p) => p.background.kind))).toEqual(new Set(['blurred-photo', 'texture']));
    expect(new Set(plans.map((p) => p.animal))).toEqual(new Set(['cat', 'dog']));
  });

  test('the photo lands exactly in its box; a photo background keeps the other class\'s colour and none of its detail', async () => {
    for (const plan of plans.slice(0, 6)) {
      const scene = await renderScene(plan);
      const { left, top, size } = plan.box;
      const crop = await sharp(Buffer.from(scene.data), { raw: { width: plan.side, height: plan.side, channels: 3 } }).extract({ left, top, width: size, height: size }).raw().toBuffer();
      expect(crop.equals(Buffer.from((await pastedPhoto(plan.photo, size)).data))).toBe(true);
      expect(insideBox(plan, left, top)).toBe(true);
      expect(insideBox(plan, left + size, top)).toBe(false);
      const back = Buffer.from((await sceneBackground(plan)).data);
      if (plan.background.kind === 'blurred-photo') {
        // The other class's checkerboard: its hue survives (red for cats, blue for dogs), its squares don't.
        let red = 0;
        let blue = 0;
        for (let i = 0; i < back.length; i += 3) {
          red += back[i];
          blue += back[i + 2];
        }
        if (plan.background.animal === 'dog') expect(blue).toBeGreaterThan(5 * red);
        else expect(red).toBeGreaterThan(5 * blue);
        const photo = await pastedPhoto(plan.photo, size);
        expect(detail(back, plan.side, plan.side)).toBeLessThan(detail(Buffer.from(photo.data), size, size) / 20);
      } else {
        expect(detail(back, plan.side, plan.side)).toBeGreaterThan(0.5);
      }
    }
  });
});

describe('cam --input-scale native', () => {
  const cat = path.join(ROOT, 'examples/cat.jpg'); // 451x300

  test('the bundled model runs at the photo\'s own size: a 15x10 map where fit gives 7x7, drawn at the photo\'s size', async () => {
    const side = (peak: { x: number; y: number; fx: number; fy: number }) => [Math.round((peak.x + 0.5) / peak.fx), Math.round((peak.y + 0.5) / peak.fy)];
    const native = await runCli(['cam', cat, '--input-scale', 'native', '--json', '-o', path.join(dir, 'native.png')]);
    const fit = await runCli(['cam', cat, '--json', '-o', path.join(dir, 'fit.png')]);
    expect(native.code).toBe(0);
    expect(side(JSON.parse(native.stdout.toString()).maps[0].peak)).toEqual([15, 10]);
    expect(side(JSON.parse(fit.stdout.toString()).maps[0].peak)).toEqual([7, 7]);
    const meta = await sharp(path.join(dir, 'native.png')).metadata();
    expect([meta.width, meta.height]).toEqual([451, 300]);
  }, 60_000);

  test('a model with a Flatten before its head is refused, naming the layer', async () => {
    const model = await saveModelTo(edgeModel(), path.join(dir, 'edge'));
    const r = await runCli(['cam', cat, '-m', model, '--layer', 'edges', '--input-scale', 'native', '-o', path.join(dir, 'edge.png')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('cnnviz:'))).toEqual(["cnnviz: --input-scale native: flat (Flatten) needs the model's 16x16 input; use --input-scale fit"]);
  }, 60_000);
});
