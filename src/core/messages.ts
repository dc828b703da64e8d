/**
 * Talking to a live run: a person queues a message for the agent (`nexus run queue-message`,
 * the editor, the board, a `/nexus` comment in Plane); the next attempt's prompt carries every
 * message still waiting, and its `attempt.started` report marks them delivered. A waiting
 * message can be withdrawn; a delivered one is history. No backend Nexus drives takes input in
 * the middle of its turn, so the attempt boundary (with the nudge) is where a message lands.
 */
import type { NewEvent } from './domain/events.ts';
import type { QueuedMessage, RunManifest } from './domain/run.ts';
import { NexusError } from './errors.ts';
import { randomId } from './ids.ts';
import type { RunStore } from './ports.ts';
import { MAX_MESSAGE_CHARS, MAX_PENDING_MESSAGES } from './domain/limits.ts';

/** Messages not yet carried by an attempt's prompt. */
export function pendingMessages(m: Pick<RunManifest, 'messages'>): QueuedMessage[] {
  return (m.messages ?? []).filter((x) => x.delivered_attempt === undefined);
}

/** A message's text as it will be queued (trimmed), or a clear refusal. */
export function messageText(raw: string): string {
  const text = raw.trim();
  if (!text) throw new NexusError('USAGE', 'a message for the agent cannot be empty');
  if (text.length > MAX_MESSAGE_CHARS) {
    throw new NexusError(
      'USAGE',
      `a message for the agent is at most ${MAX_MESSAGE_CHARS} characters (this one has ${text.length})`,
      { limit: MAX_MESSAGE_CHARS, length: text.length },
    );
  }
  return text;
}

/**
 * Adds a message to the run's queue (under the lock). Returns undefined when a message with
 * the same id is already there (a provider's delivery replayed).
 */
export function enqueueMessage(
  m: RunManifest,
  message: QueuedMessage,
): { message: QueuedMessage; events: NewEvent[] } | undefined {
  const messages = (m.messages ??= []);
  if (messages.some((x) => x.id === message.id)) return undefined;
  const waiting = pendingMessages(m).length;
  if (waiting >= MAX_PENDING_MESSAGES) {
    throw new NexusError(
      'RUN_STATE_CONFLICT',
      `run ${m.id} already has ${waiting} messages waiting for its next attempt: remove one first ('nexus run queued-messages ${m.id.slice(0, 8)}')`,
    );
  }
  messages.push(message);
  return {
    message,
    events: [
      {
        type: 'nexus.message.queued',
        data: {
          message: message.id,
          text: message.text,
          by: message.by,
          ...(message.via ? { via: message.via } : {}),
        },
      },
    ],
  };
}

/** Withdraws a waiting message (under the lock); a delivered one cannot be taken back. */
export function withdrawMessage(
  m: RunManifest,
  id: string,
  by: string,
): { message: QueuedMessage; events: NewEvent[] } {
  const messages = m.messages ?? [];
  const message = messages.find((x) => x.id === id);
  if (!message) {
    const known =
      pendingMessages(m)
        .map((x) => x.id)
        .join(', ') || 'none';
    throw new NexusError('USAGE', `run ${m.id} has no queued message '${id}' (waiting: ${known})`, {
      run: m.id,
      message: id,
    });
  }
  if (message.delivered_attempt !== undefined) {
    throw new NexusError(
      'RUN_STATE_CONFLICT',
      `message ${id} was already delivered (attempt ${message.delivered_attempt}): it can no longer be removed`,
      { run: m.id, message: id },
    );
  }
  m.messages = messages.filter((x) => x.id !== id);
  return { message, events: [{ type: 'nexus.message.removed', data: { message: id, by } }] };
}

export interface MessageQueueRequest {
  run: string;
  text: string;
  /** Fixed by the bridge from the credentials (a person). */
  by?: string | undefined;
}

/** What core's NexusApi exposes of the queue; a person's alone (the bridge gives no agent scope). */
export interface RunMessagesDeps {
  store: Pick<RunStore, 'resolveRunId' | 'readRun' | 'mutateRun'>;
  now(): string;
  /** Cuts known secret values from the text before it is kept. */
  redact(text: string): string;
}

export class RunMessages {
  private readonly d: RunMessagesDeps;

  constructor(deps: RunMessagesDeps) {
    this.d = deps;
  }

  async queue(req: MessageQueueRequest): Promise<QueuedMessage> {
    const id = await this.d.store.resolveRunId(req.run);
    const text = messageText(this.d.redact(req.text));
    let queued: QueuedMessage | undefined;
    await this.d.store.mutateRun(id, (m) => {
      if (m.agent.backend === 'passive') {
        throw new NexusError(
          'USAGE',
          `run ${m.id} is passive: no agent attempt will read a message (leave a note with 'nexus run note')`,
        );
      }
      const r = enqueueMessage(m, { id: randomId(), at: this.d.now(), by: req.by ?? 'user', text });
      queued = r?.message;
      return { manifest: m, events: r?.events ?? [] };
    });
    return queued as QueuedMessage;
  }

  async list(run: string): Promise<QueuedMessage[]> {
    return (await this.d.store.readRun(await this.d.store.resolveRunId(run))).messages ?? [];
  }

  async remove(run: string, message: string, by = 'user'): Promise<QueuedMessage> {
    const id = await this.d.store.resolveRunId(run);
    let removed: QueuedMessage | undefined;
    await this.d.store.mutateRun(id, (m) => {
      const r = withdrawMessage(m, message, by);
      removed = r.message;
      return { manifest: m, events: r.events };
    });
    return removed as QueuedMessage;
  }
}
