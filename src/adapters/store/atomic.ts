/**
 * Atomic file writes: a reader sees the old content or the new, never half of either.
 * Temp file in the same directory (created with `mode`, 0600 unless told: the result replaces
 * whatever mode the old file had), fsync, rename.
 */
import { randomBytes } from '../../core/random.ts';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Whether a file name is one of writeFileAtomic's temp files (`.<name>.<12 hex>.tmp`). */
export const isAtomicTemp = (name: string): boolean => /^\..+\.[0-9a-f]{12}\.tmp$/.test(name);

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o600,
  /** false skips the fsync, for derived data that is rebuilt if lost (the index). */
  durable = true,
): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await (typeof data === 'string' ? fh.writeFile(data, 'utf8') : fh.writeFile(data));
    if (durable) await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
