/**
 * What a person does at a board provider that reaches a run: cancelling it (moving its item to
 * a cancelled state) or leaving a message for the agent (a `/nexus …` comment). Each is
 * recorded in the run's log as `nexus.board.inbound`, naming the provider's user, before it
 * acts. Both are idempotent, because a provider (or an attacker holding a captured delivery)
 * may send the same thing twice: a finished run is not cancelled again, and a message id
 * already queued is not queued again.
 */
import { isTerminalRunStatus, type RunManifest } from '../domain/run.ts';
import { enqueueMessage, messageText } from '../messages.ts';
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
  const raw = deps.redact(action.text.trim());
  if (!raw) return 'ignored';
  const text = messageText(raw);
  let result: InboundResult = 'queued';
  await deps.store.mutateRun(action.runId, (m) => {
    const queued = enqueueMessage(m, {
      id: action.id,
      at: deps.now(),
      by: action.by,
      text,
      via: action.provider,
    });
    if (!queued) {
      result = 'duplicate';
      return { manifest: m, events: [] };
    }
    return { manifest: m, events: [audit, ...queued.events] };
  });
  return result;
}
