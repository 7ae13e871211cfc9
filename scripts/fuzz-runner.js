#!/usr/bin/env node
// Runs many cnnviz command lines in one process, as `cnnviz` itself would run each, so a
// fuzz corpus of hundreds of inputs costs one start-up instead of hundreds.
//
//   node scripts/fuzz-runner.js cases.json results.jsonl
//
// cases.json: [{ "id": "...", "argv": ["layers", "-m", "..."] }, ...]. For each case a result
// line {id, code, stdoutBytes, peakKb} is appended to results.jsonl as soon as the case ends,
// so a case that kills the process is the one after the last line. Stderr is read from file
// descriptor 2 itself (the parent splits it at the markers written here), so what libvips or
// HDF5 print natively is counted as part of the case's stderr too. The last line holds the
// process's peak resident memory (maxRSS, kilobytes).
//
// A case that crashes the wasm backend's instance (an abort inside a kernel) leaves the
// backend dead for every later case of this process; the runner then stops with exit code 3
// after recording that case, and the caller starts a fresh process for the rest.
import { appendFileSync, readFileSync, writeSync } from 'node:fs';
import { run } from '../dist/cli/main.js';

const [casesFile, resultsFile] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));

let stdoutBytes = 0;
const stdoutWrite = process.stdout.write.bind(process.stdout);
// Predict's lines and --json go to stdout; only their size matters here, not their text.
process.stdout.write = (chunk, ...rest) => {
  stdoutBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  const done = rest.find((r) => typeof r === 'function');
  if (done) done();
  return true;
};

let said = '';
const stderrWrite = process.stderr.write.bind(process.stderr);
process.stderr.write = (chunk, ...rest) => {
  said += String(chunk);
  return stderrWrite(chunk, ...rest);
};
const WASM_DEAD = /Aborted\(|memory access out of bounds|RuntimeError: unreachable/;

for (const c of cases) {
  writeSync(2, `\n\u0000case-start ${c.id}\n`);
  stdoutBytes = 0;
  said = '';
  const code = await run(['node', 'cnnviz', ...c.argv]);
  writeSync(2, `\n\u0000case-end ${c.id}\n`);
  // Peak memory so far (it only grows): the case where it jumps is the one that used it.
  appendFileSync(resultsFile, `${JSON.stringify({ id: c.id, code, stdoutBytes, peakKb: process.resourceUsage().maxRSS })}\n`);
  if (code !== 0 && WASM_DEAD.test(said)) {
    appendFileSync(resultsFile, `${JSON.stringify({ maxRSS: process.resourceUsage().maxRSS })}\n`);
    process.exit(3);
  }
}
appendFileSync(resultsFile, `${JSON.stringify({ maxRSS: process.resourceUsage().maxRSS })}\n`);
stdoutWrite('');
