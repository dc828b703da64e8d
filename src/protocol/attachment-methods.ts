/**
 * The attachment methods of the bridge table (spread into `BRIDGE_METHODS`). Adding and
 * removing are a person's; an agent or a runner may list and read its own run's (handlers.ts),
 * which is how the runner hands them to the agent's workspace.
 */
import * as z from 'zod/mini';
import { Attachment } from '../core/domain/run.ts';
import { MAX_ATTACHMENT_BYTES } from '../core/domain/limits.ts';

const ref = z.string().check(z.minLength(1), z.maxLength(256));
const name = z.string().check(z.minLength(1), z.maxLength(256));
const actor = z.optional(z.string().check(z.minLength(1), z.maxLength(100)));
const Listed = z.object({ ...Attachment.shape, run: z.string() });

export const AttachmentMethods = {
  'attachments.add': {
    params: z.strictObject({
      run: ref,
      name,
      // Core gives the exact limit, naming the file; this bounds what crosses the socket.
      data: z.string().check(z.maxLength(Math.ceil((MAX_ATTACHMENT_BYTES * 4) / 3) + 1024)),
      by: actor,
    }),
    result: Attachment,
    api: { fn: 'addAttachment', attributed: true },
  },
  'attachments.list': {
    params: z.strictObject({ run: ref }),
    result: z.array(Listed),
    api: { fn: 'listAttachments', args: ['run'] },
  },
  'attachments.get': {
    params: z.strictObject({ run: ref, name }),
    result: z.object({ attachment: Listed, data: z.string() }),
    api: { fn: 'getAttachment', args: ['run', 'name'] },
  },
  'attachments.remove': {
    params: z.strictObject({ run: ref, name, by: actor }),
    result: Attachment,
    api: { fn: 'removeAttachment', args: ['run', 'name', 'by'], attributed: true },
  },
} as const;
