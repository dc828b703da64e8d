/**
 * The bridge methods for messages a person queues for a run's next attempt (spread into
 * `BRIDGE_METHODS`). None is in a runner's or an agent's scope (handlers.ts): an agent token
 * cannot queue, list or withdraw messages, for its own run or any other.
 */
import * as z from 'zod/mini';
import { QueuedMessage } from '../core/domain/run.ts';
import { MAX_MESSAGE_CHARS } from '../core/domain/limits.ts';

const ref = z.string().check(z.minLength(1), z.maxLength(256));
const actor = z.optional(z.string().check(z.minLength(1), z.maxLength(100)));

export const MessageMethods = {
  'messages.queue': {
    // Core gives the exact limit with a clearer message; this bounds what crosses the socket.
    params: z.strictObject({
      run: ref,
      text: z.string().check(z.maxLength(MAX_MESSAGE_CHARS * 2)),
      by: actor,
    }),
    result: QueuedMessage,
    api: { fn: 'queueMessage', attributed: true },
  },
  'messages.list': {
    params: z.strictObject({ run: ref }),
    result: z.array(QueuedMessage),
    api: { fn: 'listMessages', args: ['run'] },
  },
  'messages.remove': {
    params: z.strictObject({ run: ref, id: ref, by: actor }),
    result: QueuedMessage,
    api: { fn: 'removeMessage', args: ['run', 'id', 'by'], attributed: true },
  },
} as const;
