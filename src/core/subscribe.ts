/**
 * A subscription: a run's stored events after a seq, then its live ones, each delivered once
 * and in order even when the replay and live events overlap.
 */
import type { EventListener, SubscribeRequest, Subscription } from './api.ts';
import type { RunEvent } from './domain/events.ts';
import type { EventHub } from './hub.ts';
import type { RunStore } from './ports.ts';

export async function subscribe(
  hub: EventHub,
  store: Pick<RunStore, 'readEvents'>,
  req: SubscribeRequest,
  listener: EventListener,
): Promise<Subscription> {
  // Listen first, then replay: events that arrive during the replay are delivered once, in order.
  const delivered = new Map<string, number>();
  let replaying = true;
  const buffered: RunEvent[] = [];
  const deliver = (e: RunEvent): void => {
    // A live-only memory event (run_id "") has no run's seq to order it by.
    if (e.run_id !== '') {
      if ((delivered.get(e.run_id) ?? 0) >= e.seq) return;
      delivered.set(e.run_id, e.seq);
    }
    listener(e);
  };
  const off = hub.on((e) => {
    if (!req.all && !(req.runs && e.run_id in req.runs)) return;
    if (replaying) buffered.push(e);
    else deliver(e);
  });
  for (const [run, after] of Object.entries(req.runs ?? {})) {
    delivered.set(run, after);
    for (const e of await store.readEvents(run, after)) deliver(e);
  }
  replaying = false;
  for (const e of buffered) deliver(e);
  return { close: off };
}
