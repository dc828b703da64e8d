/**
 * Atomic file writes: a reader sees the old content or the new, never half of either.
 * Temp file in the same directory (created with `mode`, 0600 unless told: the result replaces
 * whatever mode the old file had), fsync, rename.
 *
 * The quick calls (open, a small write, close, rename: microseconds on a local disk) are made
 * synchronously and only the fsync, which waits on the disk, goes to Node's thread pool: each
 * call through `fs/promises` is a round trip through that pool, and four of them cost more than
 * the fsync itself (0.86 ms against 0.45 ms here for a 4 KiB write). A serving core's event loop
 * is held only for the quick calls; data past `SYNC_WRITE_MAX` (the run index of thousands of
 * runs) is written from the pool too.
 */
import { randomBytes } from '../../core/random.ts';
import {
  closeSync,
  fdatasync,
  fsync,
  openSync,
  renameSync,
  unlinkSync,
  writeFile,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes up to this size are made on the calling thread. */
const SYNC_WRITE_MAX = 256 * 1024;

/** Whether a file name is one of writeFileAtomic's temp files (`.<name>.<12 hex>.tmp`). */
export const isAtomicTemp = (name: string): boolean => /^\..+\.[0-9a-f]{12}\.tmp$/.test(name);

/** fsync(2), or fdatasync(2) with `dataOnly`, on the thread pool. */
export function syncOnPool(fd: number, dataOnly = false): Promise<void> {
  return new Promise((resolve, reject) =>
    (dataOnly ? fdatasync : fsync)(fd, (err) => (err ? reject(err) : resolve())),
  );
}

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o600,
  /** false skips the fsync, for derived data that is rebuilt if lost (the index). */
  durable = true,
): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    if (data.length <= SYNC_WRITE_MAX) writeFileSync(fd, data);
    else await new Promise<void>((ok, fail) => writeFile(fd, data, (e) => (e ? fail(e) : ok())));
    if (durable) await syncOnPool(fd);
  } catch (err) {
    closeSync(fd);
    unlinkQuietly(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkQuietly(tmp);
    throw err;
  }
}

/** Removes a file, if it is there and ours to remove (stray temp files go on the next write). */
export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or not ours.
  }
}
