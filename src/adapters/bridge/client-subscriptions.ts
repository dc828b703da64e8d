/**
 * Client-side subscription bookkeeping: per run, the last `seq` delivered to the listener, so
 * that after a reconnect the client resubscribes from exactly there and drops anything it has
 * already delivered (dedupe by run + seq).
 */
import type { EventListener, SubscribeRequest } from '../../core/api.ts';
import type { RunEvent } from '../../core/domain/events.ts';

export class ClientSubscription {
  readonly listener: EventListener;
  readonly all: boolean;
  /** Last seq delivered per run (starts at the caller's cursors). */
  readonly cursors: Map<string, number>;
  /** The server's id for this subscription on the current connection. */
  serverId: string | undefined;
  closed = false;

  constructor(req: SubscribeRequest, listener: EventListener) {
    this.listener = listener;
    this.all = req.all === true;
    this.cursors = new Map(Object.entries(req.runs ?? {}));
  }

  /** Params that resume this subscription where its listener stopped. */
  resumeParams(): { runs: Record<string, number>; all?: boolean } {
    return { runs: Object.fromEntries(this.cursors), ...(this.all ? { all: true } : {}) };
  }

  /** Delivers an event unless it was delivered before; returns whether it was. */
  deliver(event: RunEvent, onListenerError: (err: unknown) => void): boolean {
    if (this.closed) return false;
    // A live-only memory event (run_id "") is in no run's log: no cursor, nothing to resume.
    if (event.run_id !== '') {
      const last = this.cursors.get(event.run_id) ?? 0;
      if (event.seq <= last) return false;
      this.cursors.set(event.run_id, event.seq);
    }
    try {
      this.listener(event);
    } catch (err) {
      onListenerError(err);
    }
    return true;
  }
}
