/**
 * A pod's attachments, from its inbox (core writes them, `src/adapters/runtime/kubernetes/
 * inbox-attachments.ts`): `attachments.json` lists them (`[{name, size, sha256, run}]`) and
 * `attachment.<sha256>` holds each one's bytes. Read fresh at each attempt boundary, where
 * `handAttachments` (`attachments.ts`, the same as a local run's) brings `.nexus-attachments/`
 * in line with it, checking each file's sha256 before it writes it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import {
  ATTACHMENT_PREFIX,
  ATTACHMENTS_INDEX,
} from '../src/adapters/runtime/kubernetes/inbox-attachments.ts';
import { assertAttachmentName } from '../src/core/attachments.ts';
import type { AttachmentReader } from './attachments.ts';

const Index = z.array(
  z.object({
    name: z.string(),
    size: z.number(),
    sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
    run: z.string(),
  }),
);
type Index = z.infer<typeof Index>;

export function podAttachments(inboxDir: string, log: (line: string) => void): AttachmentReader {
  const index = async (): Promise<Index> => {
    const text = await readFile(join(inboxDir, ATTACHMENTS_INDEX), 'utf8').catch(() => undefined);
    if (text === undefined) return []; // none given (yet)
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const r = Index.safeParse(parsed);
    if (!r.success) {
      log(`inbox: ${ATTACHMENTS_INDEX} is not an attachment index; no attachments handed over`);
      return [];
    }
    // A name that could leave the folder is never one core wrote.
    return r.data.filter((a) => {
      try {
        assertAttachmentName(a.name);
        return true;
      } catch {
        log(`inbox: attachment name '${a.name}' is invalid; ignored`);
        return false;
      }
    });
  };
  return {
    listAttachments: () => index(),
    async getAttachment(_run, name) {
      const a = (await index()).find((x) => x.name === name);
      const bytes = a
        ? await readFile(join(inboxDir, `${ATTACHMENT_PREFIX}${a.sha256}`)).catch(() => undefined)
        : undefined;
      // Missing bytes read as none: their sha256 cannot match, so nothing is written.
      return { data: (bytes ?? Buffer.alloc(0)).toString('base64') };
    },
  };
}
