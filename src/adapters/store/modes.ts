/**
 * Modes for everything Nexus keeps in the state dir: directories 0700, files 0600, whatever the
 * umask. Modes given at creation only apply to new entries, so what is found wider (a state dir
 * made by `mkdir -p` or a checkout, a file restored from a backup) is tightened here. Best
 * effort: an entry owned by someone else (EPERM) or gone (ENOENT) is left as it is.
 */
import { chmodSync, fchmodSync, fstatSync, statSync } from 'node:fs';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/**
 * Sets `path`'s permission bits to `mode` if they differ. Synchronous: a stat, on every write's
 * path (see atomic.ts).
 */
export function tightenSync(path: string, mode: number): void {
  try {
    if ((statSync(path).mode & 0o777) !== mode) chmodSync(path, mode);
  } catch {
    // Not ours to change, or not there: nothing to do.
  }
}

/** The same for an open file. */
export function tightenFd(fd: number, mode: number = FILE_MODE): void {
  try {
    if ((fstatSync(fd).mode & 0o777) !== mode) fchmodSync(fd, mode);
  } catch {
    // As above.
  }
}
