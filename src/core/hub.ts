/** In-process fan-out of events to subscribers (views, the bridge, waiting approvals). */
import type { RunEvent } from './domain/events.ts';

export type HubListener = (event: RunEvent) => void;

export class EventHub {
  private readonly listeners = new Set<HubListener>();

  publish(events: readonly RunEvent[]): void {
    for (const e of events) {
      for (const l of this.listeners) {
        try {
          l(e);
        } catch {
          // One broken subscriber must not stop the others or the writer.
        }
      }
    }
  }

  on(listener: HubListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
