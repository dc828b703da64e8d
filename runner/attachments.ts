/**
 * Hands a run's attachments to its agent: before each attempt the runner brings the
 * workspace's `.nexus-attachments/` in line with the run's list (its own and its group's) —
 * new or changed files written, removed ones deleted — and keeps the folder out of git. Where
 * the list and bytes come from is the caller's: core (embedded or over the bridge), or in a pod
 * the inbox (`pod-attachments.ts`). Bytes whose sha256 is not the listed one are never written;
 * a file is written to a temporary name and renamed, so the agent never reads half of one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ATTACHMENTS_DIR } from '../src/core/attachments.ts';

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** What the runner needs of a source of attachments (core's `NexusApi` is one). */
export interface AttachmentReader {
  listAttachments(run: string): Promise<ReadonlyArray<{ name: string; sha256: string }>>;
  /** The bytes, base64. */
  getAttachment(run: string, name: string): Promise<{ data: string }>;
}

const TEMP = '.tmp-';

export async function handAttachments(
  api: AttachmentReader,
  runId: string,
  cwd: string,
  log: (line: string) => void = () => undefined,
): Promise<string[]> {
  const list = await api.listAttachments(runId);
  const dir = join(cwd, ATTACHMENTS_DIR);
  const present = await readdir(dir).catch(() => undefined);
  if (list.length === 0 && present === undefined) return [];
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, '.gitignore'), '*\n');
  const handed: string[] = [];
  for (const a of list) {
    const path = join(dir, a.name);
    const have = await readFile(path).catch(() => undefined);
    if (have && sha256(have) === a.sha256) {
      handed.push(a.name);
      continue;
    }
    const data = Buffer.from((await api.getAttachment(runId, a.name)).data, 'base64');
    if (sha256(data) !== a.sha256) {
      log(`attachments: ${a.name} does not match its sha256 ${a.sha256}: not handed over`);
      continue;
    }
    const temp = join(dir, `${TEMP}${randomBytes(6).toString('hex')}`);
    await writeFile(temp, data, { mode: 0o600 });
    await rename(temp, path);
    handed.push(a.name);
  }
  for (const name of present ?? [])
    if (name !== '.gitignore' && !list.some((a) => a.name === name))
      await unlink(join(dir, name)).catch(() => undefined);
  return handed;
}
