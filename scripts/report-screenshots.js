// The README's report screenshots (docs/img/report-{model,layer,unit}.png): a report of the
// bundled model over examples/, opened in Debian's headless chromium with playwright-core.
//   node scripts/report-screenshots.js [site-folder]
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const site = path.resolve(process.argv[2] ?? path.join(ROOT, 'report-screenshots'));
const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), 'report', '--images', path.join(ROOT, 'examples'), '--layers', 'conv_pw_7_relu,conv_pw_13_relu', '--units', '0-15', '--steps', '64', '--image-pages', '2', '-o', site], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
const { chromium } = createRequire(import.meta.url)('playwright-core');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  for (const [name, rel, height] of [['model', 'index.html', 700], ['layer', 'layers/base_conv_pw_7_relu/index.html', 560], ['unit', 'layers/base_conv_pw_7_relu/3.html', 900]]) {
    const page = await browser.newPage({ viewport: { width: 1000, height } });
    await page.goto(pathToFileURL(path.join(site, rel)).href, { waitUntil: 'load' });
    // Lazy pictures below the fold never load in a screenshot: load them all.
    await page.evaluate(() => document.querySelectorAll('img').forEach((i) => (i.loading = 'eager')));
    await page.waitForFunction(() => [...document.images].every((i) => i.complete));
    await page.screenshot({ path: path.join(ROOT, 'docs/img', `report-${name}.png`) });
    await page.close();
  }
} finally {
  await browser.close();
}
