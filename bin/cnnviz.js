#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (built by `npm install` via the prepare script).
import module from 'node:module';
import { asksOnlyVersion, VERSION } from '../dist/cli/version.js';

// `cnnviz --version` is answered before commander and the command table load: they cost
// about a third of its start-up, and the answer needs neither.
if (asksOnlyVersion(process.argv.slice(2))) {
  process.stdout.write(`${VERSION}\n`);
  process.exit(0);
}
const { enableSignalCleanup } = await import('../dist/signal-cleanup.js');

// Node 22.1+ keeps compiled code between runs (tfjs is megabytes of JavaScript); older Nodes lack it.
module.enableCompileCache?.();
const { run } = await import('../dist/cli/main.js');

// Ctrl-C or SIGTERM at any moment leaves no temp file or half-made output folder behind.
enableSignalCleanup();

// stdout is data (PNG bytes, JSON). A reader that stops early (`| head`) is not a failure:
// leave quietly. Any other write error (a full disk) is one line and exit 1, never a stack.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  process.stderr.write(`cnnviz: cannot write to standard output: ${err.code ?? err.message}\n`);
  process.exit(1);
});

const code = await run(process.argv);
// Let pending stdout writes (PNG bytes with -o -) drain before leaving.
process.exitCode = code;
