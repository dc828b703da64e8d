/**
 * What a person does at a board provider that reaches a run: cancelling it (moving its item to
 * a cancelled state) or leaving a message for the agent (a `/nexus …` comment). Each is
 * recorded in the run's log as `nexus.board.inbound`, naming the provider's user, before it
 * acts. Both are idempotent, because a provider (or an attacker holding a captured delivery)
 * may send the same thing twice: a finished run is not cancelled again, and a message id
 * already queued is not queued again.
 */
import { isTerminalRunStatus, type QueuedMessage, type RunManifest } from '../domain/run.ts';
import { NexusError } from '../errors.ts';
import type { RunStore } from '../ports.ts';

interface InboundCommon {
  runId: string;
  /** The provider's user, prefixed with the provider: `plane:Alice`. */
  by: string;
  provider: string;
  /** The provider's delivery id, for the audit. */
  delivery?: string | undefined;
  /** The provider's item id. */
  item?: string | undefined;
}

export type InboundAction =
  | (InboundCommon & { kind: 'cancel' })
  | (InboundCommon & { kind: 'message'; id: string; text: string });

export type InboundResult = 'cancelled' | 'queued' | 'ignored' | 'duplicate';

export interface InboundDeps {
  store: Pick<RunStore, 'readRun' | 'appendEvents' | 'mutateRun'>;
  /** Core's cancel, attributed. */
  cancel(runId: string, by: string): Promise<RunManifest>;
  now(): string;
  redact(text: string): string;
}

export const MAX_MESSAGE_CHARS = 4000;
/** Waiting messages per run: a flood from outside cannot grow a manifest without bound. */
export const MAX_PENDING_MESSAGES = 20;

export async function applyInbound(
  action: InboundAction,
  deps: InboundDeps,
): Promise<InboundResult> {
  const audit = {
    type: 'nexus.board.inbound' as const,
    data: {
      provider: action.provider,
      action: action.kind,
      by: action.by,
      ...(action.delivery ? { delivery: action.delivery } : {}),
      ...(action.item ? { item: action.item } : {}),
    },
  };
  if (action.kind === 'cancel') {
    const m = await deps.store.readRun(action.runId);
    // Also how our own projection's move of a failed run to a cancelled state comes back.
    if (isTerminalRunStatus(m.status)) return 'ignored';
    await deps.store.appendEvents(action.runId, [audit]);
    await deps.cancel(action.runId, action.by);
    return 'cancelled';
  }
  const text = deps.redact(action.text.trim());
  if (!text) return 'ignored';
  if (text.length > MAX_MESSAGE_CHARS) {
    throw new NexusError(
      'TASK_INVALID',
      `a message for the agent is at most ${MAX_MESSAGE_CHARS} characters (this one has ${text.length})`,
    );
  }
  let result: InboundResult = 'queued';
  await deps.store.mutateRun(action.runId, (m) => {
    const messages = (m.messages ??= []);
    if (messages.some((x) => x.id === action.id)) {
      result = 'duplicate';
      return { manifest: m, events: [] };
    }
    const waiting = messages.filter((x) => x.delivered_attempt === undefined).length;
    if (waiting >= MAX_PENDING_MESSAGES) {
      throw new NexusError(
        'RUN_STATE_CONFLICT',
        `run ${m.id} already has ${waiting} messages waiting for its next attempt`,
      );
    }
    const message: QueuedMessage = {
      id: action.id,
      at: deps.now(),
      by: action.by,
      text,
      via: action.provider,
    };
    messages.push(message);
    return {
      manifest: m,
      events: [
        audit,
        {
          type: 'nexus.message.queued',
          data: { message: action.id, text, by: action.by, via: action.provider },
        },
      ],
    };
  });
  return result;
}

/** Messages not yet carried by an attempt's prompt. */
export function pendingMessages(m: Pick<RunManifest, 'messages'>): QueuedMessage[] {
  return (m.messages ?? []).filter((x) => x.delivered_attempt === undefined);
}
