import { rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/**
 * What a signal must not leave behind, and nothing else.
 *
 * Ctrl-C (SIGINT) or SIGTERM may stop cnnviz at any moment. Node's default is to die at once,
 * and that is what we want during long synchronous tensor work: a JavaScript handler runs only
 * when the event loop is free, so with one installed Ctrl-C would wait for a whole dream. What
 * must not survive the signal is a half-written temp file of an atomic write, or an output
 * folder made for a write that never finished. So a handler is installed only once such a file
 * is about to exist; it removes them and then lets the same signal end the process as it would
 * have (a shell reports 130 for SIGINT and 143 for SIGTERM, and a script running cnnviz in a
 * loop stops as it should, which it would not after a plain exit(130)).
 *
 * Signals are process-wide, so this state is too. It is opt-in: only the CLI entry calls
 * `enableSignalCleanup`, so a program using cnnviz as a library keeps its own signal handling.
 */
const tempFiles = new Set<string>();
/** [deepest, topmost] folders that a write created, removed again (when still empty) on a signal. */
const createdFolders: Array<[string, string]> = [];
let enabled = false;
let armed = false;
/** A command's own answer to the first Ctrl-C; 'answered' once it ran (the next one ends the process). */
let interceptor: (() => void) | 'answered' | undefined;
const listening = { SIGINT: false, SIGTERM: false };

/** Called once by the CLI entry (bin/cnnviz.js). */
export function enableSignalCleanup(): void {
  if (enabled) return;
  enabled = true;
  // However else the process ends (an error, an EPIPE exit), no temp file outlives it.
  process.on('exit', removeTempFiles);
}

/** A temp file is about to be written: remove it if a signal comes first. Returns the "done" call. */
export function trackTempFile(file: string): () => void {
  tempFiles.add(file);
  if (enabled && !armed) {
    armed = true;
    updateListeners();
  }
  return () => {
    tempFiles.delete(file);
  };
}

/** A write made `deepest` (and the folders up to `topmost`): remove them if a signal comes while they are empty. */
export function trackCreatedFolder(deepest: string, topmost: string): void {
  if (enabled) createdFolders.push([deepest, topmost]);
}

/**
 * For a command that answers the first Ctrl-C itself (train: finish the batch, save, exit 130).
 * The handler runs for the first SIGINT only; the second ends the process as any signal does.
 * Returns the call that gives Ctrl-C back.
 */
export function interceptInterrupt(handler: () => void): () => void {
  interceptor = handler;
  updateListeners();
  return () => {
    interceptor = undefined;
    updateListeners();
  };
}

function updateListeners(): void {
  const want = { SIGINT: armed || interceptor !== undefined, SIGTERM: armed };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    if (want[signal] === listening[signal]) continue;
    if (want[signal]) process.on(signal, onSignal);
    else process.off(signal, onSignal);
    listening[signal] = want[signal];
  }
}

function onSignal(signal: NodeJS.Signals): void {
  if (signal === 'SIGINT' && typeof interceptor === 'function') {
    // The listener stays: a second Ctrl-C already on its way must not be dropped by removing it.
    const handler = interceptor;
    interceptor = 'answered';
    handler();
    return;
  }
  removeTempFiles();
  for (const [deepest, topmost] of createdFolders.reverse()) removeEmptyFolders(deepest, topmost);
  armed = false;
  interceptor = undefined;
  updateListeners();
  // With our listeners gone the signal's default action ends the process, as if never caught.
  process.kill(process.pid, signal);
}

function removeTempFiles(): void {
  for (const file of tempFiles) rmSync(file, { force: true });
  tempFiles.clear();
}

function removeEmptyFolders(deepest: string, topmost: string): void {
  for (let dir = deepest; ; dir = path.dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty (a whole file was written into it) or already gone
    }
    if (dir === topmost || path.dirname(dir) === dir) return;
  }
}
