import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { ROOT, runCli } from './helpers/cli.js';

// The package as a user gets it: only `import … from 'cnnviz'`, resolved by node through
// package.json `exports` (a package can import itself by name from its own folder), run in a
// separate process on the built dist/. Nothing here imports src/.

const KINDS = ['function', 'class', 'const', 'type'] as const;
type Kind = (typeof KINDS)[number];

/** docs/library.md's tables: `| \`name\` | kind | what |`. */
function documented(): Map<string, Kind> {
  const rows = [...readFileSync(path.join(ROOT, 'docs/library.md'), 'utf8').matchAll(/^\| `([^`]+)` \| (\w+) \|/gm)];
  const out = new Map<string, Kind>();
  for (const [, name, kind] of rows) {
    if (!KINDS.includes(kind as Kind)) throw new Error(`docs/library.md: ${name} has kind '${kind}', not one of ${KINDS.join(', ')}`);
    if (out.has(name)) throw new Error(`docs/library.md lists ${name} twice`);
    out.set(name, kind as Kind);
  }
  return out;
}

/** Each run-time export of the package entry and its typeof, from a separate node process. */
function runtimeExports(): Record<string, string> {
  const code = "const m = await import('cnnviz'); console.log(JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v]))));";
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`import('cnnviz') failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string>;
}

/**
 * Every name (values and types) the entry's declaration file exports, the file found through
 * package.json `exports`, read by the TypeScript checker in a child process.
 */
function declaredExports(): string[] {
  const code = [
    "import ts from 'typescript';",
    "import { readFileSync } from 'node:fs';",
    "const entry = new URL(JSON.parse(readFileSync('package.json', 'utf8')).exports['.'].types, 'file://' + process.cwd() + '/').pathname;",
    'const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, skipLibCheck: true, types: [] });',
    'const checker = program.getTypeChecker();',
    'console.log(JSON.stringify(checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry))).map((s) => s.name)));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reading the declaration file failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

const sorted = (names: Iterable<string>) => [...names].sort();

describe('the public API (package entry)', () => {
  const docs = documented();

  test('its run-time exports are exactly the values docs/library.md lists, each of the kind it says', () => {
    const runtime = runtimeExports();
    expect(sorted(Object.keys(runtime))).toEqual(sorted([...docs].filter(([, kind]) => kind !== 'type').map(([name]) => name)));
    for (const [name, kind] of docs) {
      if (kind === 'type') continue;
      expect([name, runtime[name]]).toEqual([name, kind === 'const' ? expect.not.stringMatching(/^function$/) : 'function']);
    }
    // The CLI and the kernels stay out of the contract.
    for (const internal of ['runCli', 'run', 'conv2dInputGradient', 'irfft2d', 'createWorkerPool', 'setReluRedirect', 'dreamBatch']) expect(runtime).not.toHaveProperty(internal);
  });

  test('its declaration file exports exactly the names docs/library.md lists, types included', () => {
    expect(sorted(declaredExports())).toEqual(sorted(docs.keys()));
  }, 60_000);

  test("the README's library example runs as written and writes the pictures the CLI writes", async () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Library\n'));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toContain("from 'cnnviz'");
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-library-'));
    try {
      // A user's project: cnnviz in node_modules, a photo in examples/.
      mkdirSync(path.join(dir, 'node_modules'));
      symlinkSync(ROOT, path.join(dir, 'node_modules/cnnviz'), 'dir');
      mkdirSync(path.join(dir, 'examples'));
      copyFileSync(path.join(ROOT, 'examples/cat.jpg'), path.join(dir, 'examples/cat.jpg'));
      const file = path.join(dir, 'example.mjs');
      writeFileSync(file, code!);
      const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', env: { ...process.env, CNNVIZ_BACKEND: 'wasm' } });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(84 + 1); // 84 layers, then the objective
      expect(lines[25]).toBe('25 base/conv_pw_4 Conv2D 28x28x64');
      expect(Number(lines[84].split(' ')[1])).toBeGreaterThan(0);

      // Same pictures as the CLI's defaults (the library example is not a second, drifting recipe).
      const grid = await sharp(path.join(dir, 'cat.conv_pw_4.png')).raw().toBuffer({ resolveWithObject: true });
      // 64 channels in 8x8 tiles of 28 px, enlarged 3x to reach the 64 px tile size, 2 px gutters.
      const side = 8 * 28 * 3 + 9 * 2;
      expect([grid.info.width, grid.info.height, grid.info.channels]).toEqual([side, side, 3]);
      const cliGrid = await runCli(['activations', 'examples/cat.jpg', '--layer', '25', '-o', path.join(dir, 'cli.grid.png')]);
      expect(cliGrid.code).toBe(0);
      const cliGridPixels = await sharp(path.join(dir, 'cli.grid.png')).raw().toBuffer({ resolveWithObject: true });
      expect(cliGridPixels.info).toEqual(grid.info);
      expect(cliGridPixels.data.equals(grid.data)).toBe(true);

      const dream = await sharp(path.join(dir, 'dream.conv1.5.png')).raw().toBuffer({ resolveWithObject: true });
      expect([dream.info.width, dream.info.height, dream.info.channels]).toEqual([128, 128, 3]);
      const cliDream = await runCli(['dream', '--layer', '1', '--filter', '5', '--steps', '16', '--seed', '7', '-o', '-']);
      expect(cliDream.code).toBe(0);
      const cliDreamPixels = await sharp(cliDream.stdout).raw().toBuffer({ resolveWithObject: true });
      expect(cliDreamPixels.info).toEqual(dream.info);
      expect(cliDreamPixels.data.equals(dream.data)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
