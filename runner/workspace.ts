/** Preparing the run's workspace: the folder as it is, or a clone made with the git CLI. */
import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { NexusError } from '../src/core/errors.ts';
import type { RunConfigPayload } from '../src/protocol/payload.ts';

const run = promisify(execFile);

export async function prepareWorkspace(
  payload: RunConfigPayload,
  log: (line: string) => void,
): Promise<void> {
  const { cwd, repo, ref } = payload.workspace;
  await mkdir(cwd, { recursive: true });
  if (!repo) return;
  const entries = await readdir(cwd);
  if (entries.includes('.git')) {
    log(`workspace ${cwd} already holds a clone; using it`);
    return;
  }
  if (entries.length > 0)
    throw new NexusError(
      'PAYLOAD_INVALID',
      `cannot clone ${repo} into ${cwd}: the folder is not empty`,
    );
  log(`cloning ${repo} into ${cwd}`);
  try {
    await run('git', ['clone', '--quiet', repo, cwd], { timeout: 10 * 60_000 });
    if (ref) await run('git', ['-C', cwd, 'checkout', '--quiet', ref], { timeout: 60_000 });
  } catch (err) {
    throw new NexusError(
      'PAYLOAD_INVALID',
      `git clone of ${repo} failed: ${(err as Error).message.split('\n')[0] ?? ''}`,
    );
  }
}
