import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from './helpers/cli.js';

/** scripts/structure.js (the TypeScript compiler's parser and checker) in a child process. */
function structure(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [path.join(ROOT, 'scripts/structure.js'), ...args], { encoding: 'utf8' });
}
function stateOf(dir: string, scope?: string): string[] {
  const r = structure('state', dir, ...(scope ? [scope] : []));
  if (r.status !== 0) throw new Error(`scripts/structure.js state failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

/**
 * Module-level state in src/dream/ that changes between calls. The goal is none: gradient
 * overrides are scoped to one forward pass, caches are held by their caller. The set must stay
 * empty: a new entry here needs a reason that survives review.
 */
const ALLOWED_UNTIL_MERGE: string[] = [];

function tempTree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-structure-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('module structure', () => {
  test('src/dream/ holds no mutable module-level state beyond the allow-list', () => {
    expect(stateOf(path.join(ROOT, 'src/dream'))).toEqual([...ALLOWED_UNTIL_MERGE].sort());
  }, 60_000);

  test('the state check sees let/var, and consts that something changes in place, even from another file', () => {
    const dir = tempTree({
      'a.ts': [
        'let counter = 0;',
        'export const cache = new Map<string, number>();',
        'const TABLE = new Set(["x"]);', // read-only lookup: not state
        'const settings = { on: false };',
        'const list: number[] = [];',
        'export function f(x: string) { const cache = new Map(); cache.set(x, 1); settings.on = true; list.push(1); return TABLE.has(x) || counter; }',
      ].join('\n'),
      'b.ts': "import { cache } from './a.js';\nexport const g = () => cache.set('k', 1);\n",
    });
    try {
      const rel = path.relative(ROOT, dir);
      expect(stateOf(dir, dir)).toEqual([`${rel}/a.ts:cache`, `${rel}/a.ts:counter`, `${rel}/a.ts:list`, `${rel}/a.ts:settings`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('the cycle check finds a cycle made only of type imports and names its files in order', () => {
    const dir = tempTree({
      'x.ts': "import type { B } from './sub/y.js';\nexport interface A { b?: B }\n",
      'sub/y.ts': "import { type C } from '../z.js';\nexport interface B { c?: C }\n",
      'z.ts': "export type C = import('./x.js').A;\n",
      'free.ts': "import { type A } from './x.js';\nexport const a: A = {};\n",
    });
    try {
      const r = structure('cycles', dir);
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toBe('import cycle: sub/y.ts -> z.ts -> x.ts -> sub/y.ts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('src/ has no import cycles (import type and import() count): npm run check:cycles passes', () => {
    const r = structure('cycles');
    expect(r.stderr).toBe('no import cycles in src\n');
    expect(r.status).toBe(0);
  });
});
