import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { camMap } from '../src/attribution/cam.js';
import { mapStats } from '../src/attribution/map.js';
import { initBackend } from '../src/backend/select.js';
import { fromLayersModel, loadModel } from '../src/model/load.js';
import { loadModelInput } from '../src/model/probe.js';
import { camSection, reportCam } from '../src/report/cam.js';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/models.js';

// The bundled model over the bundled photos, one layer, ten units (two dream groups: 0-7 and
// 8-9, so two shards each get one), 4-step dreams: the pipeline, not the pictures' quality.
const PHOTOS = path.join(ROOT, 'examples');
const ARGS = ['report', '--images', PHOTOS, '--layers', 'conv_pw_7_relu', '--units', '0-9', '--steps', '4', '--image-pages', '2', '--workers', '1'];
const LAYER_DIR = 'base_conv_pw_7_relu';

/** Every file of a site (relative path → bytes), without the dataset index's own bookkeeping. */
function snapshot(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of snapshot(dir, r)) out.set(k, v);
    else out.set(r, readFileSync(path.join(dir, r)));
  }
  return out;
}

function expectSameSite(a: string, b: string): void {
  const [sa, sb] = [snapshot(a), snapshot(b)];
  expect([...sb.keys()].sort()).toEqual([...sa.keys()].sort());
  const differ = [...sa].filter(([k, v]) => !v.equals(sb.get(k)!)).map(([k]) => k);
  expect(differ).toEqual([]);
}

describe('cnnviz report', () => {
  let dir: string;
  let site: string;
  beforeAll(async () => {
    dir = tempDir();
    site = path.join(dir, 'site');
    const r = await runCli([...ARGS, '-o', site]);
    expect(r.stderr).toMatch(/wrote .*index\.html: 1 layers, 10 unit pages; dreams 6 painted, 0 kept/);
    expect(r.code).toBe(0);
  }, 120000);

  test('model, layer, unit and image pages exist, every link and picture resolves, nothing from the network', () => {
    const pages = [...snapshot(site).keys()].filter((f) => f.endsWith('.html'));
    expect(pages).toEqual(expect.arrayContaining(['index.html', `layers/${LAYER_DIR}/index.html`, ...Array.from({ length: 10 }, (_, u) => `layers/${LAYER_DIR}/${u}.html`), 'images/0.html', 'images/1.html']));
    for (const page of pages) {
      const html = readFileSync(path.join(site, page), 'utf8');
      expect([page, /(https?:)?\/\/[a-z]/i.test(html.replace(/<pre>[\s\S]*?<\/pre>/g, ''))]).toEqual([page, false]);
      for (const [, ref] of html.matchAll(/(?:href|src|data-example|data-dream)="([^"#]+)"/g)) {
        expect([page, ref, existsSync(path.join(site, path.dirname(page), ref))]).toEqual([page, ref, true]);
      }
    }
  });

  test('every picture has alt text naming what it is: layer, unit and kind, or the photo', () => {
    const unit = readFileSync(path.join(site, `layers/${LAYER_DIR}/3.html`), 'utf8');
    const alts = [...unit.matchAll(/<img [^>]*alt="([^"]*)"/g)].map((m) => m[1]);
    expect(alts.length).toBe([...unit.matchAll(/<img /g)].length);
    expect(alts).toEqual(expect.arrayContaining(['base/conv_pw_7_relu unit 3: dream', 'base/conv_pw_7_relu unit 3: negative dream', 'base/conv_pw_7_relu unit 3: diversity 2 of 3']));
    expect(alts.filter((a) => a.includes('top example')).length).toBe(2); // two photos in examples/
    for (const page of [...snapshot(site).keys()].filter((f) => f.endsWith('.html'))) {
      const html = readFileSync(path.join(site, page), 'utf8');
      for (const img of html.match(/<img [^>]*>/g) ?? []) expect(img).toMatch(/alt="(base\/conv_pw_7_relu|photo |Grad-CAM at base\/conv_pw_13_relu for class |[^"]*: feature maps)[^"]+"/);
      expect(html).toMatch(/<html lang="en">/);
    }
    // The histogram counts the unit's maximum over every photo.
    expect(unit).toMatch(/<svg role="img" aria-label="base\/conv_pw_7_relu unit 3: histogram of its maximum activation over 2 photos"/);
  });

  test('an image page shows Grad-CAM of its top 2 classes: JPEG overlays at the photo\'s size, brightest where camMap peaks', async () => {
    const html = readFileSync(path.join(site, 'images/0.html'), 'utf8');
    const name = /<h1>([^<]+)<\/h1>/.exec(html)![1];
    const cams = [...html.matchAll(/<img src="(0\.cam\d\.jpg)" alt="([^"]+)"/g)];
    expect(cams.map((m) => m[1])).toEqual(['0.cam1.jpg', '0.cam2.jpg']);
    expect(cams[0][2]).toMatch(new RegExp(`^Grad-CAM at base/conv_pw_13_relu for class (cat|dog) \\(top 1\\) over photo ${name.replace('.', '\\.')}`));
    // Light: a small JPEG each.
    for (const [, src] of cams) expect(statSync(path.join(site, 'images', src)).size).toBeLessThan(30 * 1024);
    await initBackend('wasm');
    const loaded = await loadModel();
    const { raster, tensor } = await loadModelInput(loaded, path.join(PHOTOS, name));
    const map = camMap(loaded, tensor, { top: 1 });
    tensor.dispose();
    expect(cams[0][2]).toContain(`class ${map.label} (top 1)`);
    const decode = async (f: string) => sharp(path.join(site, 'images', f)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const [overlay, photo] = [await decode('0.cam1.jpg'), await decode('0.jpg')];
    expect([overlay.info.width, overlay.info.height]).toEqual([raster.width, raster.height]);
    // overlay = (photo + colour) / 2, so 2·overlay − photo is the colour; inferno brightens with the value.
    // Its mean brightness per cell of the map's grid is highest in camMap's peak cell.
    const { width: W, height: H } = overlay.info;
    const cell = new Float64Array(map.width * map.height);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 3;
        let v = 0;
        for (let c = 0; c < 3; c++) v += 2 * overlay.data[i + c] - photo.data[i + c];
        cell[Math.floor((y * map.height) / H) * map.width + Math.floor((x * map.width) / W)] += v;
      }
    const brightest = cell.indexOf(Math.max(...cell));
    const { peak } = mapStats(map);
    expect([brightest % map.width, Math.floor(brightest / map.width)]).toEqual([peak.x, peak.y]);
  }, 60000);

  test('a model with no feature map before its classifier gets a note on its image pages instead of Grad-CAM', () => {
    // A perceptron on pictures: flatten, then the classifier; nothing spatial for a CAM to read.
    const input = tf.input({ shape: [8, 8, 3] });
    const flat = tf.layers.flatten({}).apply(input) as tf.SymbolicTensor;
    const head = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(flat) as tf.SymbolicTensor;
    const loaded = fromLayersModel(tf.model({ inputs: input, outputs: head }), 'mlp', { name: 'mlp', inputRange: [0, 1], inputRangeSource: 'default', extra: {} });
    const cam = reportCam(loaded);
    expect(cam).toEqual({ unavailable: expect.stringMatching(/no layer with a spatial output of at least 2x2/) });
    const section = camSection(cam, 'cat.jpg', []);
    expect(section.html).toMatch(/^<p>Not available for this model .*no layer with a spatial output/);
    expect(section.html).not.toMatch(/<img/);
  });

  test("a unit page's printed dream command repeats its pictures byte for byte", async () => {
    const html = readFileSync(path.join(site, `layers/${LAYER_DIR}/9.html`), 'utf8');
    const m = /# diversity row: (\S+), (\S+), (\S+)\n(cnnviz dream [^\n<]+)/.exec(html)!;
    expect(m).not.toBeNull();
    const cwd = path.join(dir, 'repeat');
    mkdirSync(cwd);
    const argv = m[4].split(' ').slice(1);
    expect(argv).toEqual(expect.arrayContaining(['--filters', '8-9', '--seed', '0', '--steps', '4', '--diversity', '3']));
    const r = await runCli(argv, { cwd });
    expect(r.code).toBe(0);
    for (let copy = 0; copy < 3; copy++) {
      expect(readFileSync(path.join(cwd, m[1 + copy].replace(/&#39;|&quot;/g, '')))).toEqual(readFileSync(path.join(site, `layers/${LAYER_DIR}/9.div${copy}.png`)));
    }
  }, 120000);

  test('a re-run with nothing changed paints nothing and leaves every byte as it was', async () => {
    const before = snapshot(site);
    const mtime = statSync(path.join(site, `layers/${LAYER_DIR}/0.html`)).mtimeMs;
    const r = await runCli([...ARGS, '-o', site]);
    expect(r.stderr).toMatch(/dreams 0 painted, 6 kept; 0 pages changed/);
    expect(statSync(path.join(site, `layers/${LAYER_DIR}/0.html`)).mtimeMs).toBe(mtime);
    const after = snapshot(site);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [k, v] of before) expect([k, v.equals(after.get(k)!)]).toEqual([k, true]);
  }, 120000);

  test('two shards and --merge give the same site as one run', async () => {
    const shards = [path.join(dir, 's1'), path.join(dir, 's2')];
    for (const [i, s] of shards.entries()) {
      const r = await runCli([...ARGS, '--shard', `${i + 1}/2`, '-o', s]);
      expect(r.code).toBe(0);
    }
    // Each shard painted some of the two groups, together all of them.
    const painted = shards.map((s) => Object.keys(JSON.parse(readFileSync(path.join(s, 'report.json'), 'utf8')).artefacts).filter((f) => f.endsWith('.dream.png')).length);
    expect(painted[0] + painted[1]).toBe(10);
    const merged = path.join(dir, 'merged');
    const r = await runCli(['report', '--merge', ...shards, '-o', merged]);
    expect(r.code).toBe(0);
    expectSameSite(site, merged);
  }, 180000);

  test('kill -9 in the middle, then a re-run, gives the same site as an uninterrupted run', async () => {
    const killed = path.join(dir, 'killed');
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), ...ARGS, '-o', killed], { env: { ...process.env, CNNVIZ_BACKEND: 'wasm' }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Kill once the first dream run has been recorded: in the middle of the dreams.
    const t0 = Date.now();
    while (!existsSync(path.join(killed, 'report.json')) && Date.now() - t0 < 60000) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await exited;
    const part = JSON.parse(readFileSync(path.join(killed, 'report.json'), 'utf8')).artefacts;
    expect(Object.keys(part).length).toBeGreaterThan(0);
    expect(existsSync(path.join(killed, 'index.html'))).toBe(false); // stopped before the pages
    const r = await runCli([...ARGS, '-o', killed]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/dreams [1-5] painted, [1-5] kept/);
    expectSameSite(site, killed);
  }, 180000);
});
