/**
 * Hands a run's attachments to its agent: before each attempt the runner brings the
 * workspace's `.nexus-attachments/` in line with the run's list (its own and its group's) —
 * new or changed files written, removed ones deleted — and keeps the folder out of git.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NexusApi } from '../src/core/api.ts';
import { ATTACHMENTS_DIR } from '../src/core/attachments.ts';

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

export async function handAttachments(
  api: Pick<NexusApi, 'listAttachments' | 'getAttachment'>,
  runId: string,
  cwd: string,
): Promise<string[]> {
  const list = await api.listAttachments(runId);
  const dir = join(cwd, ATTACHMENTS_DIR);
  const present = await readdir(dir).catch(() => undefined);
  if (list.length === 0 && present === undefined) return [];
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, '.gitignore'), '*\n');
  for (const a of list) {
    const path = join(dir, a.name);
    const have = await readFile(path).catch(() => undefined);
    if (have && sha256(have) === a.sha256) continue;
    const { data } = await api.getAttachment(runId, a.name);
    await writeFile(path, Buffer.from(data, 'base64'), { mode: 0o600 });
  }
  for (const name of present ?? [])
    if (name !== '.gitignore' && !list.some((a) => a.name === name))
      await unlink(join(dir, name)).catch(() => undefined);
  return list.map((a) => a.name);
}
