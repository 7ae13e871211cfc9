// Said once, at the top of every run: the suites that read ../shared skip themselves when it
// is absent, and jest shows nothing of a suite whose every test was skipped.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function globalSetup() {
  const shared = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared');
  if (!existsSync(shared)) {
    process.stderr.write(`\ncnnviz tests: ${shared} is absent, so the tests on the real MobileNet, DoodleNet and cats-dogs photos are skipped; the core suite runs without them.\n`);
  }
}
