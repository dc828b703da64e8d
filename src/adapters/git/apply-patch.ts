/**
 * Applying a run's patch to a repository: checked first, applied whole or not at all. A patch
 * that does not apply cleanly is refused with the files named and nothing touched (no 3-way
 * merge, no conflict markers, no index change); one already there is said to be so.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NexusError } from '../../core/errors.ts';
import { git } from './run-git.ts';

export type ApplyResult = 'applied' | 'applies' | 'already-applied' | 'empty';

/** The repository's top folder for `dir`, or undefined when `dir` is in none. */
export async function repositoryOf(dir: string): Promise<string | undefined> {
  const r = await git(dir, ['rev-parse', '--show-toplevel']).catch(() => undefined);
  return r?.code === 0 ? r.stdout.toString().trim() || undefined : undefined;
}

export async function applyPatch(
  top: string,
  patch: Buffer,
  opts: { checkOnly: boolean; run: string },
): Promise<ApplyResult> {
  if (patch.length === 0) return 'empty';
  const scratch = await mkdtemp(join(tmpdir(), 'nexus-apply-'));
  const file = join(scratch, 'change.patch');
  try {
    await writeFile(file, patch, { mode: 0o600 });
    const apply = (...args: string[]) =>
      git(top, ['apply', '--binary', '--whitespace=nowarn', ...args, file]);
    const check = await apply('--check');
    if (check.code !== 0) {
      if ((await apply('--check', '--reverse')).code === 0) return 'already-applied';
      const files = conflicting(check.stderr);
      throw new NexusError(
        'PATCH_REFUSED',
        `the change of run ${opts.run} does not apply to ${top}${files.length ? ` (${files.join(', ')})` : ''}; nothing was changed:\n${check.stderr.trim()}`,
        { run: opts.run, files },
      );
    }
    if (opts.checkOnly) return 'applies';
    const done = await apply();
    if (done.code !== 0)
      throw new NexusError(
        'PATCH_REFUSED',
        `git apply failed after its check passed: ${done.stderr.trim()}`,
        { run: opts.run },
      );
    return 'applied';
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The files `git apply --check` names in its complaints, each once. */
function conflicting(stderr: string): string[] {
  const files = new Set<string>();
  for (const line of stderr.split('\n')) {
    const failed = /^error: patch failed: (.+):\d+$/.exec(line);
    const other =
      /^error: (.+?): (already exists in working directory|does not exist in index|No such file or directory|patch does not apply|does not match index|wrong type)$/.exec(
        line,
      );
    const path = failed?.[1] ?? other?.[1];
    if (path) files.add(path);
  }
  return [...files];
}
