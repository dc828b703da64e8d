/**
 * Puts a `nexus` command on the backend's PATH, bound to this Node and this build, so that an
 * agent's `nexus task …` reaches the run's state however the user installed Nexus.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** The CLI entry next to this runner: `dist/cli.cjs` in a build, `src/cli/bin.ts` in source. */
export function cliEntry(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NEXUS_CLI_ENTRY) return env.NEXUS_CLI_ENTRY;
  const self = resolve(process.argv[1] ?? '');
  const candidates = [
    join(dirname(self), 'cli.cjs'),
    join(dirname(self), '..', 'src', 'cli', 'bin.ts'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`cannot find the nexus CLI next to ${self} (set NEXUS_CLI_ENTRY)`);
  return found;
}

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export async function writeNexusShim(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const bin = join(dir, 'bin');
  // The person's only: executable by the owner (the agent runs as the person), nobody else.
  await mkdir(bin, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const script = `#!/bin/sh\nexec ${shQuote(process.execPath)} ${shQuote(cliEntry(env))} "$@"\n`;
  const path = join(bin, 'nexus');
  await writeFile(path, script, { mode: 0o700 });
  await chmod(path, 0o700);
  return bin;
}

/** Commands whose gated actions the shell-level gate covers (see `nexus hook gate`). */
const GATED_COMMANDS = ['git', 'gh', 'rm', 'rmdir', 'unlink'];

/**
 * For backends with no approval hook of their own (Codex runs its commands itself), put gate
 * shims for git, gh and the delete commands first on PATH: each runs `nexus hook gate`, which
 * applies the agent's permissions and waits for approvals, then runs the real program. Like
 * the policy itself this is a guard rail on the commands an agent types, not a sandbox.
 */
export async function writeGateShims(
  dir: string,
  permissionsFile: string,
  searchPath: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true, mode: 0o700 });
  for (const name of GATED_COMMANDS) {
    const real = searchPath
      .split(':')
      .filter(Boolean)
      .map((p) => join(p, name))
      .find((p) => existsSync(p));
    if (!real) continue;
    const script =
      `#!/bin/sh\nNEXUS_PERMISSIONS_FILE=${shQuote(permissionsFile)} exec ${shQuote(process.execPath)} ` +
      `${shQuote(cliEntry(env))} hook gate ${shQuote(real)} "$@"\n`;
    await writeFile(join(bin, name), script, { mode: 0o700 });
  }
}
