#!/usr/bin/env node
// The long fuzz run: test/fuzz.test.ts with more seeds and more mutations per base file.
//
//   npm run fuzz                              # seeds 1-8, 4x the mutations of npm test
//   npm run fuzz -- --seeds 11,12 --scale 10
//
// Each seed's corpus folder (with report.tsv: every case, its exit code and stderr) is kept
// in the system temp folder as cnnviz-fuzz-*, to re-run a failing case by hand.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] ? args[at + 1] : fallback;
};
const seeds = flag('--seeds', '1,2,3,4,5,6,7,8');
const scale = flag('--scale', '4');
if (!/^\d+(,\d+)*$/.test(seeds) || !/^\d+$/.test(scale)) {
  process.stderr.write(`npm run fuzz: bad --seeds '${seeds}' or --scale '${scale}': expected e.g. --seeds 1,2,3 --scale 4\n`);
  process.exit(2);
}
const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const jest = spawnSync(process.execPath, ['--experimental-vm-modules', '--no-warnings', 'node_modules/jest/bin/jest.js', 'test/fuzz.test.ts', '--runInBand'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, FUZZ_SEEDS: seeds, FUZZ_SCALE: scale },
});
process.exit(jest.status ?? 1);
