import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
