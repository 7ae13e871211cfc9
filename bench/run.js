// `npm run bench`: machine facts, then each section's table. A section is a file in bench/
// whose default export is an async function that prints one table (and skips gracefully when
// what it needs is absent). Files starting with '_' are helpers, not sections.
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIRST = ['gradients.js', 'pool.js'];
// Not sections: run on their own (`--profile`).
const APART = ['profile.js'];

async function machineInfo() {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('../dist/backend/select.js');
  console.log('# cnnviz bench');
  console.log(`cores: ${os.availableParallelism()} (${os.cpus()[0]?.model ?? 'unknown cpu'}), memory ${Math.round(os.totalmem() / 2 ** 30)} GiB`);
  console.log(`node ${process.version}, tfjs ${tf.version.tfjs}, load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const backends = [];
  for (const name of ['tensorflow', 'wasm', 'cpu']) {
    try {
      if ((await initBackend(name)) === name) backends.push(name);
    } catch {
      // not installed
    }
  }
  let wasm = 'absent';
  if (backends.includes('wasm')) {
    await initBackend('wasm');
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    wasm = `SIMD ${simd ? 'yes' : 'no'}, threads ${threads ? 'yes' : 'no (one core per process)'}`;
  }
  console.log(`backends: ${backends.join(', ')}${backends.includes('tensorflow') ? '' : ' (tensorflow: npm install @tensorflow/tfjs-node)'}; wasm ${wasm}`);
}

async function main() {
  if (process.argv.includes('--profile')) {
    // `npm run bench -- --profile [...]`: where a dream step's time goes (bench/profile.js), no sections.
    const { default: profile } = await import(pathToFileURL(path.join(HERE, 'profile.js')).href);
    await profile(process.argv.slice(2).filter((a) => a !== '--profile'));
    return;
  }
  if (!existsSync(path.join(HERE, '../dist/backend/select.js'))) {
    console.error('bench: dist/ is missing; run npm run build first');
    process.exit(1);
  }
  await machineInfo();
  const others = readdirSync(HERE).filter((f) => f.endsWith('.js') && f !== 'run.js' && !f.startsWith('_') && !FIRST.includes(f) && !APART.includes(f)).sort();
  for (const file of [...FIRST, ...others]) {
    if (!existsSync(path.join(HERE, file))) continue;
    try {
      const section = await import(pathToFileURL(path.join(HERE, file)).href);
      if (typeof section.default === 'function') await section.default();
    } catch (err) {
      console.log(`\n## ${file}: skipped (${err instanceof Error ? err.message.split('\n')[0] : err})`);
    }
  }
}

await main();
