import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli.js';
import { type FuzzCase } from './fuzz-corpus.js';

export interface FuzzOutcome {
  fuzzCase: FuzzCase;
  /** Exit code, or undefined when the process died during this case. */
  code?: number;
  /** The process's peak resident memory after this case, in bytes (it only grows). */
  peakBytes?: number;
  stderr: string;
}

export interface BatchReport {
  outcomes: FuzzOutcome[];
  /** Peak resident memory of the batch's process, in bytes (every case in it stayed below). */
  maxRssBytes?: number;
  /** How the process ended when it did not finish the batch: exit code or signal. */
  died?: string;
}

/**
 * Run `cases` in child processes (scripts/fuzz-runner.js, the built CLI's `run()` called once
 * per case) and split their stderr per case. A runner that stops with exit 3 (a case crashed
 * the wasm backend, which a fresh process does not inherit) is followed by a fresh one for
 * the remaining cases. A case that kills the process is the one without a result; the rest
 * of the batch is not run.
 */
export async function runBatch(cases: FuzzCase[], workDir: string, name: string, timeoutMs: number): Promise<BatchReport> {
  const deadline = Date.now() + timeoutMs;
  const outcomes: FuzzOutcome[] = [];
  let maxRssBytes = 0;
  for (let part = 0; ; part++) {
    const rest = cases.slice(outcomes.length);
    const report = await runProcess(rest, workDir, `${name}.${part}`, Math.max(1000, deadline - Date.now()));
    const done = report.outcomes.filter((o) => o.code !== undefined);
    outcomes.push(...done);
    maxRssBytes = Math.max(maxRssBytes, report.maxRssBytes ?? 0);
    const restart = report.died === 'exit 3 signal -' && report.maxRssBytes !== undefined;
    if (restart && outcomes.length === cases.length) return { outcomes, maxRssBytes };
    if (restart && done.length > 0) continue;
    outcomes.push(...report.outcomes.slice(done.length));
    return { outcomes, maxRssBytes: report.maxRssBytes === undefined ? undefined : maxRssBytes, died: report.died };
  }
}

function runProcess(cases: FuzzCase[], workDir: string, name: string, timeoutMs: number): Promise<BatchReport> {
  const casesFile = path.join(workDir, `${name}.cases.json`);
  const resultsFile = path.join(workDir, `${name}.results.jsonl`);
  writeFileSync(casesFile, JSON.stringify(cases.map(({ id, argv }) => ({ id, argv }))));
  writeFileSync(resultsFile, '');
  return new Promise((resolve, reject) => {
    // The heap cap makes a runaway allocation a V8 crash (caught below as a death) instead of a
    // machine that swaps; the resident-memory check is the real 2 GB limit.
    const child = spawn(process.execPath, ['--max-old-space-size=2048', path.join(ROOT, 'scripts/fuzz-runner.js'), casesFile, resultsFile], {
      cwd: workDir,
      env: { ...process.env, NO_COLOR: '1', CNNVIZ_BACKEND: 'wasm' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = readFileSync(resultsFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { id?: string; code?: number; peakKb?: number; maxRSS?: number });
      const byId = new Map(lines.filter((l) => l.id !== undefined).map((l) => [l.id!, l]));
      const rss = lines.find((l) => l.maxRSS !== undefined)?.maxRSS;
      const outcomes = cases.map((c) => {
        const r = byId.get(c.id);
        return { fuzzCase: c, code: r?.code, peakBytes: r?.peakKb === undefined ? undefined : r.peakKb * 1024, stderr: caseStderr(stderr, c.id) };
      });
      const finished = code === 0 && rss !== undefined;
      resolve({ outcomes, maxRssBytes: rss === undefined ? undefined : rss * 1024, died: finished ? undefined : `exit ${code ?? '-'} signal ${signal ?? '-'}` });
    });
  });
}

/** The stderr a case wrote: what lies between its start and end markers. */
function caseStderr(all: string, id: string): string {
  const start = all.indexOf(`\u0000case-start ${id}\n`);
  if (start < 0) return '';
  const from = start + `\u0000case-start ${id}\n`.length;
  const end = all.indexOf(`\n\u0000case-end ${id}\n`, from);
  return (end < 0 ? all.slice(from) : all.slice(from, end)).replace(/^\n+|\n+$/g, '');
}

/**
 * What every outcome must be: a success (with its output file when it writes one), or exit
 * 1 or 2 with exactly one `cnnviz:` line on stderr, no stack trace, and no output file or
 * temporary file left behind. Returns one line per violation (empty when all is well).
 */
export function violations(outcomes: FuzzOutcome[], outDir: string): string[] {
  const bad: string[] = [];
  for (const { fuzzCase: c, code, stderr } of outcomes) {
    const label = `${c.id} (${c.what}): ${c.argv.join(' ')}`;
    if (code === undefined) {
      bad.push(`${label}: no result (the process died or the batch stopped before it)`);
      continue;
    }
    const lines = stderr === '' ? [] : stderr.split('\n');
    if (code === 0) {
      if (c.output && !existsSync(c.output)) bad.push(`${label}: exit 0 but no ${c.output}`);
      continue;
    }
    if (code !== 1 && code !== 2) bad.push(`${label}: exit ${code}`);
    if (lines.length !== 1 || !/^cnnviz: \S/.test(lines[0])) bad.push(`${label}: exit ${code} with ${lines.length} stderr line(s): ${JSON.stringify(stderr.slice(0, 400))}`);
    if (c.output && existsSync(c.output)) bad.push(`${label}: failed but left ${c.output}`);
    // The backend works for every case; failing to start it means an earlier case broke it.
    if (/backend '.*' could not be started/.test(stderr)) bad.push(`${label}: the backend was broken by an earlier case`);
  }
  const temps = readdirSync(outDir).filter((f) => f.endsWith('.tmp'));
  if (temps.length) bad.push(`temporary files left in ${outDir}: ${temps.join(', ')}`);
  return bad;
}

/** The cases after which a batch's peak memory first went over `limit`: the ones that used it. */
export function memoryHogs(outcomes: FuzzOutcome[], limit: number): string[] {
  const hogs: string[] = [];
  let before = 0;
  for (const o of outcomes) {
    if (o.peakBytes === undefined) continue;
    if (o.peakBytes > limit && before <= limit) hogs.push(`${o.fuzzCase.id} (${o.fuzzCase.what}): ${o.fuzzCase.argv.join(' ')} took the process to ${Math.round(o.peakBytes / 2 ** 20)} MB`);
    before = o.peakBytes;
  }
  return hogs;
}

/** Split cases into `n` batches of about equal size, in order. */
export function batches<T>(items: T[], n: number): T[][] {
  const size = Math.ceil(items.length / n);
  return Array.from({ length: n }, (_, i) => items.slice(i * size, (i + 1) * size)).filter((b) => b.length > 0);
}
