import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/models.js';

// Debian's chromium, driven by playwright-core (no browser download): .ci/run installs it.
const CHROMIUM = '/usr/bin/chromium';
const maybe = existsSync(CHROMIUM) ? describe : describe.skip;
if (!existsSync(CHROMIUM)) console.warn(`skipping the report browser test: ${CHROMIUM} is absent (apt-get install chromium)`);

const require = createRequire(import.meta.url);
const LAYER_DIR = 'base_conv_pw_7_relu';

maybe('a report in headless Chromium, from file://', () => {
  let site: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let browser: any;
  beforeAll(async () => {
    site = path.join(tempDir(), 'site');
    const r = await runCli(['report', '--images', path.join(ROOT, 'examples'), '--layers', 'conv_pw_7_relu', '--units', '0-11', '--steps', '8', '--image-pages', '2', '--workers', '1', '-o', site]);
    expect(r.code).toBe(0);
    const { chromium } = require('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 180000);
  afterAll(async () => {
    await browser?.close();
  });

  /** Open a page, scroll through it so lazy pictures load, and report what went wrong. */
  async function visit(rel: string) {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const errors: string[] = [];
    const failed: string[] = [];
    page.on('console', (m: { type(): string; text(): string }) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e: Error) => errors.push(e.message));
    page.on('requestfailed', (r: { url(): string }) => failed.push(r.url()));
    page.on('request', (r: { url(): string }) => !r.url().startsWith('file:') && !r.url().startsWith('data:') && failed.push(`network: ${r.url()}`));
    const t0 = Date.now();
    await page.goto(pathToFileURL(path.join(site, rel)).href, { waitUntil: 'load' });
    const firstScreen = Date.now() - t0;
    await page.evaluate(async () => {
      for (let y = 0; y < document.body.scrollHeight; y += 400) {
        window.scrollTo(0, y);
        await new Promise((r) => setTimeout(r, 30));
      }
    });
    await page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 20000 });
    const broken = await page.evaluate(() => [...document.images].filter((i) => i.naturalWidth === 0).map((i) => i.getAttribute('src')));
    const images = await page.evaluate(() => document.images.length);
    return { page, errors, failed, broken, images, firstScreen };
  }

  /** axe-core, injected from node_modules: the serious and critical violations. */
  async function audit(page: { addScriptTag(o: { path: string }): Promise<unknown>; evaluate<T>(f: () => Promise<T>): Promise<T> }) {
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    const result = await page.evaluate(async () => (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe.run());
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes.length})`);
  }

  test.each(['index.html', `layers/${LAYER_DIR}/index.html`, `layers/${LAYER_DIR}/0.html`, `layers/${LAYER_DIR}/5.html`, `layers/${LAYER_DIR}/11.html`, 'images/0.html'])('%s: no console errors, no failed requests, every picture loads, no serious accessibility violations', async (rel) => {
    const v = await visit(rel);
    expect(v.errors).toEqual([]);
    expect(v.failed).toEqual([]);
    expect(v.images).toBeGreaterThan(0);
    expect(v.broken).toEqual([]);
    expect(await audit(v.page)).toEqual([]);
    await v.page.close();
  }, 60000);

  test('arrow keys move between units, up goes to the layer; the toggle shows top examples', async () => {
    const v = await visit(`layers/${LAYER_DIR}/5.html`);
    const { page } = v;
    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/\/6\.html$/);
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL(/\/5\.html$/);
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL(/\/4\.html$/);
    await page.keyboard.press('ArrowUp');
    await page.waitForURL(/\/index\.html$/);
    expect(await page.title()).toMatch(/^base\/conv_pw_7_relu:/);
    await page.check('#show-examples');
    const srcs = await page.evaluate(() => [...document.querySelectorAll('.grid img')].map((i) => (i as HTMLImageElement).getAttribute('src')));
    expect(srcs.slice(0, 2)).toEqual(['0.top.jpg', '1.top.jpg']);
    await page.fill('#unit-filter', '7');
    await page.press('#unit-filter', 'Enter');
    await page.waitForURL(/\/7\.html$/);
    await page.close();
  }, 60000);

  test('an image page shows its two Grad-CAM pictures; with its pictures it weighs at most 300 KB', async () => {
    const v = await visit('images/0.html');
    const cams = await v.page.evaluate(() => [...document.images].filter((i) => /\.cam\d\.jpg$/.test(i.getAttribute('src') ?? '')).map((i) => [i.naturalWidth, i.alt]));
    expect(cams.length).toBe(2);
    for (const [width, alt] of cams) {
      expect(width).toBeGreaterThan(0);
      expect(alt).toMatch(/^Grad-CAM at .+ for class .+ \(top [12]\) over photo /);
    }
    await v.page.close();
    const html = readFileSync(path.join(site, 'images/0.html'), 'utf8');
    const refs = [...html.matchAll(/<img [^>]*src="([^"]+)"/g)].map((m) => m[1]);
    const bytes = [html.length, ...refs.map((r) => readFileSync(path.join(site, 'images', r)).length)].reduce((a, b) => a + b, 0);
    console.log(`image page with pictures: ${(bytes / 1024).toFixed(0)} KB`);
    expect(bytes).toBeLessThan(300 * 1024);
  }, 60000);

  test('a layer page shows its first screen within 1 s; a unit page with its pictures weighs at most 300 KB', async () => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const v = await visit(`layers/${LAYER_DIR}/index.html`);
      times.push(v.firstScreen);
      await v.page.close();
    }
    expect(times.sort((a, b) => a - b)[1]).toBeLessThan(1000);
    const html = readFileSync(path.join(site, `layers/${LAYER_DIR}/3.html`), 'utf8');
    const refs = [...html.matchAll(/<img [^>]*src="([^"]+)"/g)].map((m) => m[1]);
    const bytes = [html.length, ...refs.map((r) => readFileSync(path.join(site, `layers/${LAYER_DIR}`, r)).length)].reduce((a, b) => a + b, 0);
    console.log(`unit page with pictures: ${(bytes / 1024).toFixed(0)} KB; layer page load: ${times.join(', ')} ms`);
    expect(bytes).toBeLessThan(300 * 1024);
  }, 60000);
});
