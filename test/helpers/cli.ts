import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = path.resolve(ROOT, '../shared');
export const MOBILENET = path.join(SHARED, 'data/models/mobilenet-v1-0.25-224');

/** `describe`, or `describe.skip` with a note saying why, for tests that need ../shared. */
export function describeWithShared(what: string, needs: string): jest.Describe {
  if (existsSync(needs)) return describe;
  console.warn(`skipping ${what}: ${needs} is absent (../shared is not beside the project)`);
  return describe.skip;
}

export interface CliResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Run the built CLI as a user would: a separate process, real stdout/stderr and exit code. */
export function runCli(args: string[], opts: { input?: Buffer; cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/cnnviz.js'), ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1', CNNVIZ_BACKEND: 'wasm', ...opts.env },
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.end(opts.input ?? undefined);
  });
}

/**
 * The CommonJS modules a CLI run loaded, read from require's cache at exit by a preloaded probe.
 * tfjs, its backends and sharp are CommonJS, so however they are imported they land there.
 */
export function loadedModules(args: string[], opts: { cwd?: string } = {}): { code: number | null; modules: string[]; stdout: string; stderr: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-probe-'));
  const probe = path.join(dir, 'probe.mjs');
  const out = path.join(dir, 'modules.json');
  writeFileSync(
    probe,
    `import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
process.on('exit', () => writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require.cache))));
`,
  );
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(probe).href, path.join(ROOT, 'bin/cnnviz.js'), ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
  return { code: r.status, modules: JSON.parse(readFileSync(out, 'utf8')) as string[], stdout: r.stdout, stderr: r.stderr };
}
