/**
 * The pod's side of the inbox (the run's ConfigMap, mounted read-only; core writes it, see
 * `src/adapters/runtime/kubernetes/inbox.ts`):
 *
 * - `approval.<id>`: `{"approve": bool, "reason"?: str, "by": str}`, a person's decision.
 * - `message.<id>`: a message queued for the agent (`{id, at, by, text, via?}`). It is queued in
 *   the pod's own record, so the next attempt's prompt carries it and its `attempt.started`
 *   report names it (core then marks it delivered and drops the entry). An entry that goes
 *   away while its message still waits was removed by a person: the message is withdrawn. A
 *   message once delivered stays in the pod's record, so an entry that lingers is not
 *   delivered again.
 * - `attachments.json` and `attachment.<sha256>`: the run's attachments (its group's included),
 *   handed to the workspace's `.nexus-attachments/` before each attempt (`pod-attachments.ts`).
 *
 * The kubelet updates a mounted ConfigMap within its sync period (seconds to about a minute),
 * so what core writes lands that much later; the runner reads the inbox every second and at
 * each attempt boundary.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import type { NewEvent } from '../src/core/domain/events.ts';
import type { QueuedMessage } from '../src/core/domain/run.ts';
import type { RunStore } from '../src/core/ports.ts';
import type { CoreService } from '../src/core/service.ts';
import { enqueueMessage, pendingMessages, withdrawMessage } from '../src/core/messages.ts';
import { MAX_MESSAGE_CHARS } from '../src/core/domain/limits.ts';

const APPROVAL = 'approval.';
const MESSAGE = 'message.';

const InboxMessage = z.object({
  id: z.string().check(z.minLength(1)),
  at: z.string(),
  by: z.string().check(z.minLength(1)),
  text: z.string().check(z.minLength(1), z.maxLength(MAX_MESSAGE_CHARS)),
  via: z.optional(z.string()),
});

export interface InboxDeps {
  service: CoreService;
  store: Pick<RunStore, 'mutateRun' | 'readRun'>;
  runId: string;
  log: (line: string) => void;
}

export interface PodInbox {
  /** Reads the inbox now (after any read under way) and applies what is new. */
  read(): Promise<void>;
  stop(): void;
}

export function watchInbox(dir: string, d: InboxDeps): PodInbox {
  const seenApprovals = new Set<string>();
  let stopped = false;
  let reading = Promise.resolve();

  const readJson = async (name: string): Promise<unknown> => {
    const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined; // not whole yet: read again next time
    }
  };

  const approval = async (name: string): Promise<void> => {
    if (seenApprovals.has(name)) return;
    const d0 = (await readJson(name)) as
      { approve?: unknown; reason?: unknown; by?: unknown } | undefined;
    if (!d0 || typeof d0 !== 'object') return;
    seenApprovals.add(name);
    const id = name.slice(APPROVAL.length);
    const m = await d.service.getRun(d.runId);
    if (!m.approvals.some((a) => a.id === id && a.status === 'pending')) return;
    await d.service
      .decideApproval({
        id,
        approve: d0.approve === true,
        ...(typeof d0.reason === 'string' ? { reason: d0.reason } : {}),
        by: typeof d0.by === 'string' && d0.by !== 'agent' && d0.by !== 'runner' ? d0.by : 'user',
      })
      .catch((err: unknown) => d.log(`inbox: ${name}: ${(err as Error).message}`));
  };

  const messages = async (names: string[]): Promise<void> => {
    const m = await d.store.readRun(d.runId);
    const known = new Set((m.messages ?? []).map((x) => x.id));
    const present = new Set(names.map((n) => n.slice(MESSAGE.length)));
    const arrived: QueuedMessage[] = [];
    for (const id of present) {
      if (known.has(id)) continue;
      const parsed = InboxMessage.safeParse(await readJson(`${MESSAGE}${id}`));
      if (!parsed.success || parsed.data.id !== id) {
        if (parsed.error) d.log(`inbox: ${MESSAGE}${id} is not a message; ignored`);
        continue;
      }
      const { via, ...rest } = parsed.data;
      arrived.push({ ...rest, ...(via ? { via } : {}) });
    }
    const withdrawn = pendingMessages(m).filter((x) => !present.has(x.id));
    if (arrived.length === 0 && withdrawn.length === 0) return;
    await d.store.mutateRun(d.runId, (cur) => {
      const events: NewEvent[] = [];
      for (const x of withdrawn)
        if (pendingMessages(cur).some((p) => p.id === x.id)) {
          events.push(...withdrawMessage(cur, x.id, 'user').events);
          d.log(`inbox: message ${x.id} was removed before delivery`);
        }
      for (const x of arrived) {
        try {
          const queued = enqueueMessage(cur, x);
          if (queued) d.log(`inbox: message ${x.id} waits for the next attempt`);
          events.push(...(queued?.events ?? []));
        } catch (err) {
          d.log(`inbox: ${MESSAGE}${x.id}: ${(err as Error).message}`);
        }
      }
      return { manifest: cur, events };
    });
  };

  const tick = async (): Promise<void> => {
    if (stopped) return;
    // Unreadable (being swapped): nothing is concluded from it, not even a removal.
    const names = await readdir(dir).catch(() => undefined);
    if (!names) return;
    for (const name of names) if (name.startsWith(APPROVAL)) await approval(name);
    await messages(names.filter((n) => n.startsWith(MESSAGE))).catch((err: unknown) =>
      d.log(`inbox: messages: ${(err as Error).message}`),
    );
  };

  const read = (): Promise<void> => {
    reading = reading.then(tick, tick);
    return reading;
  };
  const timer = setInterval(() => void read(), 1000);
  timer.unref();
  return {
    read,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
