import { UsageError } from '../errors.js';

/** What `-` needs from standard input; a parameter so tests can hand in a terminal-like stream. */
export interface StdinLike {
  isTTY?: boolean;
}

/**
 * `-` means image bytes on standard input. A terminal cannot type a JPEG, and reading one would
 * wait in silence for Ctrl-D, so a terminal there is refused as a usage error before any work.
 */
export function refuseTerminalStdin(stdin: StdinLike = process.stdin): void {
  if (stdin.isTTY) {
    throw new UsageError("'-' reads an image from standard input, but standard input is a terminal: pipe one in (e.g. cat photo.jpg | cnnviz predict -) or give a file name");
  }
}
