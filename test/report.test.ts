import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
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
      for (const img of html.match(/<img [^>]*>/g) ?? []) expect(img).toMatch(/alt="(base\/conv_pw_7_relu|photo |[^"]*: feature maps)[^"]+"/);
      expect(html).toMatch(/<html lang="en">/);
    }
    // The histogram counts the unit's maximum over every photo.
    expect(unit).toMatch(/<svg role="img" aria-label="base\/conv_pw_7_relu unit 3: histogram of its maximum activation over 2 photos"/);
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
