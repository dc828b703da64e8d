/** The filesystem side of protected paths: glob the workspace, hash what matches. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { glob } from 'tinyglobby';
import type { ProtectedFiles } from '../../core/protect.ts';

/** Never part of a protected set: version control internals, dependencies, Nexus state. */
const IGNORE = ['**/.git/**', '**/node_modules/**', '.nexus/state/**'];

export const fsProtectedFiles: ProtectedFiles = {
  async snapshot(cwd, globs) {
    const paths = await glob([...globs], {
      cwd,
      dot: true,
      onlyFiles: true,
      followSymbolicLinks: false,
      ignore: IGNORE,
      // `protect: [test]` means the folder: every file under it.
      expandDirectories: true,
    });
    const out: Record<string, string> = {};
    for (const path of paths.sort()) {
      try {
        // Read through a symlink: what a check would read is what counts.
        out[path] = createHash('sha256')
          .update(await readFile(join(cwd, path)))
          .digest('hex');
      } catch {
        // A dangling symlink or an unreadable file: its hash is its absence.
        out[path] = 'unreadable';
      }
    }
    return out;
  },
  gitHead(cwd) {
    return new Promise((resolve) => {
      execFile('git', ['rev-parse', 'HEAD'], { cwd, timeout: 10_000 }, (err, stdout) =>
        resolve(err ? undefined : stdout.trim() || undefined),
      );
    });
  },
};
