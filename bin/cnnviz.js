#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (built by `npm install` via the prepare script).
import { run } from '../dist/cli/main.js';

const code = await run(process.argv);
// Let pending stdout writes (PNG bytes with -o -) drain before leaving.
process.exitCode = code;
