import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The `nexus-runner` entry that matches this code: `dist/runner.mjs` in a build (this file is
 * bundled into `dist/` or `dist/chunks/`), `runner/bin.ts` when running from source.
 */
export function runnerEntry(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NEXUS_RUNNER_ENTRY) return env.NEXUS_RUNNER_ENTRY;
  // The extension is bundled as CommonJS (no import.meta there); the CLI as ESM (no __dirname).
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, 'runner.mjs'),
    join(here, '..', 'runner.mjs'),
    join(here, '..', '..', '..', 'runner', 'bin.ts'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`cannot find nexus-runner near ${here} (set NEXUS_RUNNER_ENTRY)`);
  return found;
}
