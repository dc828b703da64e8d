/**
 * Keeps each pod's inbox in line with its run's record: a person's approval decisions, the
 * messages waiting for the agent, and the attachments it sees (`inbox-attachments.ts`). At
 * once for what this core does (its live events), and by a look at the record every second
 * otherwise — another process (a terminal `nexus approvals approve`, `nexus run
 * queue-message`, `nexus attachment add`) changed the same state. A run's record is read only
 * when it changed since the last look, when its pod waits on an approval, or when it is in a
 * group (another run of the group may have changed the attachments it shares).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { RunEvent } from '../../../core/domain/events.ts';
import type { RunManifest } from '../../../core/domain/run.ts';
import { toUserMessage } from '../../../core/errors.ts';
import { INBOX_PREFIX, messageEntries, putInboxEntry, syncMessageEntries } from './inbox.ts';
import { inboxName } from './manifests.ts';
import {
  attachmentEntries,
  attachmentIndex,
  overCapMessage,
  syncAttachmentEntries,
  type AttachmentSource,
} from './inbox-attachments.ts';
import { MAX_POD_ATTACHMENT_BYTES } from '../../../core/domain/limits.ts';

/** What the feed keeps per run (part of the runtime's bookkeeping). */
export interface InboxTarget {
  runId: string;
  namespace: string;
  kc: KubeConfig;
  ended: boolean;
  /** Approvals the pod asked for whose decision is not in its inbox yet. */
  awaiting: Set<string>;
  /** The `message.*` keys the inbox was last given (sorted, joined); undefined: not known. */
  messagesKey?: string | undefined;
  /** The attachment index the inbox was last given (or last refused); undefined: not known. */
  attachmentsKey?: string | undefined;
  /** Whether the run was in a group when last read. */
  grouped?: boolean | undefined;
  /** When the run's record last changed, as last seen. */
  recordStamp?: string | undefined;
  /** Inbox writes for this run, one after another. */
  inboxWrites: Promise<void>;
}

export interface InboxFeedDeps {
  readRun(runId: string): Promise<RunManifest>;
  /** When a run's record last changed (cheap); absent: read it every time. */
  recordStamp?: ((runId: string) => Promise<string | undefined>) | undefined;
  targets(): Iterable<InboxTarget>;
  /** The runs' attachments; absent: the inbox carries none. */
  attachments?: AttachmentSource | undefined;
  target(runId: string): InboxTarget | undefined;
  log?: ((line: string) => void) | undefined;
}

type Decision = {
  id: string;
  status: string;
  decided_by?: string | undefined;
  reason?: string | undefined;
};

export class InboxFeed {
  readonly #d: InboxFeedDeps;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: InboxFeedDeps) {
    this.#d = deps;
  }

  /** Core's live events: decisions, changes to a run's message queue and to attachments. */
  onEvent(e: RunEvent): void {
    if (e.type === 'nexus.attachment.added' || e.type === 'nexus.attachment.removed') {
      // Shared within a group: a live run may see another run's, one not on Kubernetes too.
      for (const other of [...this.#d.targets()])
        if (!other.ended) void this.syncAttachments(other);
      return;
    }
    const t = this.#d.target(e.run_id);
    if (!t || t.ended) return;
    if (e.type === 'nexus.approval.decided') {
      void this.forwardDecision(t, {
        id: e.data.approval,
        status: e.data.status,
        decided_by: e.data.by,
        reason: e.data.reason,
      });
    } else if (
      e.type === 'nexus.message.queued' ||
      e.type === 'nexus.message.removed' ||
      (e.type === 'nexus.attempt.started' && e.data.messages?.length)
    ) {
      void this.#d
        .readRun(t.runId)
        .then((m) => this.syncMessages(t, m))
        .catch(() => undefined);
    }
  }

  /** Starts the look at the record (once; idempotent). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#tick(), 1000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    for (const t of [...this.#d.targets()]) {
      if (t.ended) continue;
      const stamp = await this.#d.recordStamp?.(t.runId).catch(() => undefined);
      const changed = stamp === undefined || stamp !== t.recordStamp;
      const known =
        t.messagesKey !== undefined &&
        (this.#d.attachments === undefined || t.attachmentsKey !== undefined);
      if (!changed && t.awaiting.size === 0 && known && !t.grouped) continue;
      const m = await this.#d.readRun(t.runId).catch(() => undefined);
      if (!m) continue;
      t.recordStamp = stamp;
      for (const a of m.approvals) void this.forwardDecision(t, a);
      void this.syncMessages(t, m);
      t.grouped = Boolean(m.group);
      void this.syncAttachments(t);
    }
  }

  /** Gives the inbox the attachments the run sees now (its own and its group's). */
  syncAttachments(t: InboxTarget): Promise<void> {
    const src = this.#d.attachments;
    if (!src) return Promise.resolve();
    const write = async (): Promise<void> => {
      if (t.ended) return;
      try {
        const at = await attachmentIndex(src, t.runId);
        if (at.index === t.attachmentsKey) return;
        if (at.total > MAX_POD_ATTACHMENT_BYTES) {
          // `nexus attachment add` refuses this; a run moved into a group can still get here.
          // The pod keeps what it was given, and this is said once per state.
          t.attachmentsKey = at.index;
          this.#d.log?.(`${overCapMessage(t.runId, at.total)}; the pod keeps what it has`);
          return;
        }
        const entries = await attachmentEntries(src, t.runId, at);
        await syncAttachmentEntries(t.kc, t.namespace, inboxName(t.runId), entries);
        t.attachmentsKey = at.index;
      } catch (err) {
        t.attachmentsKey = undefined; // looked at again on the next tick
        this.#d.log?.(
          `run ${t.runId}: could not update the inbox's attachments: ${toUserMessage(err)}`,
        );
      }
    };
    t.inboxWrites = t.inboxWrites.then(write);
    return t.inboxWrites;
  }

  /** Gives the inbox an entry for each message still waiting, and none for any other. */
  syncMessages(t: InboxTarget, m: Pick<RunManifest, 'messages'>): Promise<void> {
    const entries = messageEntries(m);
    const key = Object.keys(entries).sort().join(',');
    const write = async (): Promise<void> => {
      if (t.ended || key === t.messagesKey) return;
      try {
        await syncMessageEntries(t.kc, t.namespace, inboxName(t.runId), entries);
        t.messagesKey = key;
      } catch (err) {
        t.messagesKey = undefined; // looked at again on the next tick
        this.#d.log?.(
          `run ${t.runId}: could not update the inbox's messages: ${toUserMessage(err)}`,
        );
      }
    };
    t.inboxWrites = t.inboxWrites.then(write);
    return t.inboxWrites;
  }

  /** Writes a person's decision into the inbox of the pod that asked for it (once). */
  forwardDecision(t: InboxTarget, d: Decision): Promise<void> {
    if (d.status !== 'approved' && d.status !== 'denied') return Promise.resolve();
    if (t.ended || !t.awaiting.delete(d.id)) return Promise.resolve();
    const write = async (): Promise<void> => {
      try {
        await putInboxEntry(
          t.kc,
          t.namespace,
          inboxName(t.runId),
          `${INBOX_PREFIX.approval}${d.id}`,
          {
            approve: d.status === 'approved',
            by: d.decided_by ?? 'user',
            ...(d.reason ? { reason: d.reason } : {}),
          },
        );
      } catch (err) {
        t.awaiting.add(d.id);
        this.#d.log?.(
          `run ${t.runId}: could not write the decision to the inbox: ${toUserMessage(err)}`,
        );
      }
    };
    t.inboxWrites = t.inboxWrites.then(write);
    return t.inboxWrites;
  }
}
