import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { COMMANDS } from '../src/cli/main.js';
import { defaultLayer } from '../src/cli/options.js';
import { isGraphModelJson } from '../src/model/load.js';
import { resolveLayers } from '../src/model/address.js';
import { loadModel } from '../src/model/load.js';
import { saveModelTo, tempDir } from './helpers/models.js';
import { loadedModules, ROOT, runCli } from './helpers/cli.js';


const HEAVY = /node_modules[\\/](@tensorflow|sharp|@img|h5wasm|piscina)[\\/]/;

describe('start-up: the root program loads no command', () => {
  test('cnnviz --help loads neither tfjs nor sharp', () => {
    const { code, modules } = loadedModules(['--help']);
    expect(code).toBe(0);
    expect(modules.filter((m) => HEAVY.test(m))).toEqual([]);
    // The probe does see CommonJS packages: commander is one.
    expect(modules.some((m) => /node_modules[\\/]commander[\\/]/.test(m))).toBe(true);
  });

  // The launcher answers the version before commander loads: no package at all.
  test.each([['--version'], ['-V']])('cnnviz %s loads no package and prints package.json\'s version', async (flag) => {
    const { code, modules } = loadedModules([flag]);
    expect(code).toBe(0);
    expect(modules.filter((m) => /node_modules/.test(m))).toEqual([]);
    const r = await runCli([flag]);
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect([r.code, r.stdout.toString()]).toEqual([0, `${version}\n`]);
  });

  test('a command loads what it needs (the probe can see tfjs)', () => {
    const { code, modules } = loadedModules(['layers', '--help']);
    expect(code).toBe(0);
    expect(modules.some((m) => /@tensorflow[\\/]tfjs[\\/]/.test(m))).toBe(true);
  });

  test('cnnviz --help lists every command with its usage and description', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    const text = r.stdout.toString().replace(/\s+/g, ' ');
    for (const c of COMMANDS) expect(text).toContain(`${c.name} ${c.usage} ${c.description}`);
  });

  test.each(COMMANDS.map((c) => [c.name, c] as const))('the %s entry matches the command its module builds', async (_, entry) => {
    const cmd = (await entry.load())();
    expect({ name: cmd.name(), usage: cmd.usage(), description: cmd.description() }).toEqual({ name: entry.name, usage: entry.usage, description: entry.description });
  });

  test('every command module in src/cli is in the table, and none imports another', () => {
    const dir = path.join(ROOT, 'src/cli');
    const sources = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => ({ name: f.slice(0, -3), text: readFileSync(path.join(dir, f), 'utf8') }));
    const commandFiles = sources.filter((s) => /export function \w+Command\(\)/.test(s.text)).map((s) => s.name);
    // index-cmd.ts: a file named index.ts would read as the folder's entry point.
    expect(commandFiles.map((f) => f.replace(/-cmd$/, '')).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
    const names = new Set(commandFiles);
    const crossImports = sources.flatMap((s) => [...s.text.matchAll(/^import [^;]* from '\.\/([\w-]+)\.js';$/gm)].filter((m) => s.name !== 'main' && names.has(m[1])).map((m) => `${s.name} -> ${m[1]}`));
    expect(crossImports).toEqual([]);
  });
});

describe('start-up: how the heavy packages are loaded', () => {
  // Node's ES-module import of a CommonJS package scans its source for export names first:
  // for tfjs (and every bundle it re-exports) that scan alone is about 0.4 s of each run.
  test('no source file imports tfjs, its wasm backend or sharp as an ES module', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : []));
    const offenders = files(path.join(ROOT, 'src')).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/^import (?!type )[^;]*from '(@tensorflow\/tfjs(?:-backend-wasm)?|sharp)';$/gm)].map((m) => `${path.relative(ROOT, f)}: ${m[0]}`),
    );
    expect(offenders).toEqual([]);
  });
});

describe('unknown commands', () => {
  test.each([[['frobnicate', '--help']], [['frobnicate', '-h']], [['help', 'frobnicate']]])('cnnviz %j is the same usage error as cnnviz frobnicate', async (args) => {
    const plain = await runCli(['frobnicate']);
    expect(plain.code).toBe(2);
    expect(plain.stderr.trim().split('\n')).toHaveLength(1);
    expect(plain.stderr).toMatch(/unknown command 'frobnicate' \(commands: layers, activations, .*, plot; see cnnviz --help\)/);
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toBe(plain.stderr);
  });

  test('help for a real command still works', async () => {
    const r = await runCli(['help', 'pool']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(/^Usage: cnnviz pool \[options\] \[image\]/);
  });
});

describe('rules the commands share', () => {
  test('defaultLayer: the first convolution, else the last layer', () => {
    const layer = (index: number, isConv: boolean) => ({ index, isConv }) as Parameters<typeof defaultLayer>[0][number];
    expect(defaultLayer([layer(0, false), layer(1, false), layer(2, true), layer(3, true)])).toBe(2);
    expect(defaultLayer([layer(0, false), layer(1, false), layer(2, false)])).toBe(2);
  });

  test('activations and kernels pick the same default layer on a model without convolutions', async () => {
    await initBackend('wasm');
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [4, 4, 1], name: 'flat' }), tf.layers.dense({ units: 2, name: 'out' })] });
    const file = await saveModelTo(model, path.join(tempDir(), 'dense'));
    const dir = tempDir();
    const acts = await runCli(['activations', path.join(ROOT, 'examples/cat.jpg'), '-m', file, '--json', '-o', 'maps/'], { cwd: dir });
    expect(acts.code).toBe(0);
    expect(JSON.parse(acts.stdout.toString()).layers.map((l: { name: string }) => l.name)).toEqual(['out']);
    // kernels used to fall back to layer 0; now it names the same layer activations shows.
    const kernels = await runCli(['kernels', '-m', file], { cwd: dir });
    expect(kernels.code).toBe(2);
    expect(kernels.stderr).toMatch(/layer \d+ 'out' is a Dense, not a convolution/);
  });

  test('activations refuses -o - with --json before it opens the model', async () => {
    const r = await runCli(['activations', 'examples/cat.jpg', '-o', '-', '--json', '-m', '/nonexistent/model.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/-o - and --json both want stdout/);
    expect(r.stdout.length).toBe(0);
  });

  test('isGraphModelJson tells the formats apart', () => {
    expect(isGraphModelJson({ format: 'graph-model' })).toBe(true);
    expect(isGraphModelJson({ modelTopology: { node: [] } })).toBe(true);
    expect(isGraphModelJson({ format: 'layers-model', modelTopology: { class_name: 'Model' } })).toBe(false);
  });
});

/** Split a help example into words, keeping single-quoted arguments whole. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

const OUTPUT_FLAGS = new Set(['-o', '--output', '--out-dir', '--animation']);
const PATH_LIKE = /\/|\.(jpe?g|png|webp|gif|tiff?|avif|json|h5|keras)$/i;

interface Example {
  command: string;
  line: string;
  args: string[];
  /** Pipes, redirections, another model or files the clone doesn't have: checked, not run. */
  runnable: boolean;
}

async function helpExamples(): Promise<Example[]> {
  const all: Example[] = [];
  for (const entry of COMMANDS) {
    const cmd = (await entry.load())();
    let text = '';
    cmd.configureOutput({ writeOut: (s) => (text += s) });
    cmd.outputHelp();
    for (const m of text.matchAll(/^\s*\$ (.*)$/gm)) {
      const line = m[1].split(/\s+#\s/)[0].trim();
      const all_ = words(line);
      const start = all_.indexOf('cnnviz');
      // A pipe, a redirection or a process substitution (`<(printf …)`) needs a shell.
      const end = all_.findIndex((w, i) => i > start && /^[|<>]$|^[<$]\(/.test(w));
      const args = all_.slice(start + 1, end < 0 ? undefined : end);
      const shell = start !== 0 || end >= 0;
      const otherModel = args.includes('-m') || args.includes('--model');
      const inputs = args.filter((w, i) => !w.startsWith('-') && !OUTPUT_FLAGS.has(args[i - 1]) && PATH_LIKE.test(w));
      const localInputs = inputs.every((w) => w.startsWith('examples/') && existsSync(path.join(ROOT, w)));
      all.push({ command: entry.name, line, args, runnable: !shell && !otherModel && localInputs });
    }
  }
  return all;
}

describe('help examples', () => {
  let examples: Example[];
  beforeAll(async () => {
    examples = await helpExamples();
  });

  test('every command has examples, and every --layer on the bundled model names one it has', async () => {
    await initBackend('wasm');
    const { graph } = await loadModel();
    expect(new Set(examples.map((e) => e.command))).toEqual(new Set(COMMANDS.map((c) => c.name)));
    const bad: string[] = [];
    for (const e of examples) {
      if (e.args.includes('-m') || e.args.includes('--model')) continue;
      e.args.forEach((w, i) => {
        if (w !== '--layer' && w !== '-l') return;
        try {
          resolveLayers(e.args[i + 1], graph.layers);
        } catch (err) {
          bad.push(`${e.line}: ${(err as Error).message}`);
        }
      });
    }
    expect(bad).toEqual([]);
  });

  // Dreams run a few steps only: the example's own flags are kept, a later --steps wins.
  const SMALL: Record<string, string[]> = { dream: ['--steps', '4'], sanity: ['--samples', '4'] };

  test('the examples that need only the clone run as written, from any folder', async () => {
    const runnable = examples.filter((e) => e.runnable);
    // Most examples use the bundled model and examples/: if this drops, the filter went wrong.
    expect(runnable.length).toBeGreaterThanOrEqual(20);
    const cwd = tempDir('cnnviz-examples-');
    symlinkSync(path.join(ROOT, 'examples'), path.join(cwd, 'examples'));
    const failures: string[] = [];
    let next = 0;
    const lane = async () => {
      while (next < runnable.length) {
        const e = runnable[next++];
        const r = await runCli([...e.args, ...(SMALL[e.command] ?? [])], { cwd });
        if (r.code !== 0) failures.push(`${e.line} -> exit ${r.code}: ${r.stderr.trim()}`);
      }
    };
    await Promise.all([lane(), lane()]);
    expect(failures).toEqual([]);
  }, 180000);
});
