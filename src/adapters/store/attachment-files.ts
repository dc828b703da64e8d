/**
 * Attachments' bytes under the state dir: `<state>/runs/<id>/attachments/<name>`, the folder
 * 0700, each file 0600 and written atomically (a reader sees the old file or the new one).
 */
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AttachmentFiles } from '../../core/attachments.ts';
import { assertAttachmentName } from '../../core/attachments.ts';
import { writeFileAtomic } from './atomic.ts';
import { DIR_MODE, FILE_MODE, tightenSync } from './modes.ts';

export function fsAttachmentFiles(stateDir: string): AttachmentFiles {
  const dir = (runId: string): string => join(stateDir, 'runs', runId, 'attachments');
  const file = (runId: string, name: string): string => {
    // Names are checked in core too; a path never leaves the run's folder whoever calls.
    assertAttachmentName(name);
    return join(dir(runId), name);
  };
  return {
    async write(runId, name, data) {
      const path = file(runId, name);
      await mkdir(dir(runId), { recursive: true, mode: DIR_MODE });
      tightenSync(dir(runId), DIR_MODE);
      await writeFileAtomic(path, data, FILE_MODE);
    },
    read: (runId, name) => readFile(file(runId, name)),
    async remove(runId, name) {
      await unlink(file(runId, name)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
  };
}
