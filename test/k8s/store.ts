/**
 * The fake's etcd: objects by resource/namespace/name, one global resourceVersion counter
 * (every write of any object takes the next number, as etcd revisions do), and the history of
 * changes a watch replays from. `compact()` drops that history the way etcd compaction does,
 * so a watch from an older resourceVersion must get 410 Expired.
 *
 * Changes are delivered to subscribers in order and never re-entrantly: a controller that
 * writes while handling an event queues its own events behind the current one, as a real
 * controller reading from a watch would see them.
 */
import { randomUUID } from 'node:crypto';
import { RESOURCES } from './resources.ts';
import type { Resource } from './resources.ts';
import { nowRfc3339 } from './types.ts';
import type { KubeObject } from './types.ts';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  rv: number;
  type: ChangeType;
  resource: Resource;
  namespace: string;
  object: KubeObject;
  /** The object before a MODIFIED, so a filtered watch can tell "left the selector". */
  prev?: KubeObject;
}

/** Timers and background work the fake owns: all cancelled by `stop()`, errors kept. */
export class Lifecycle {
  stopped = false;
  readonly errors: Error[] = [];
  /** What `kubectl get events` would show, loosely: why something waits or failed. */
  readonly events: { object: string; reason: string; message: string }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Runs `fn` after `ms`; an error it throws is recorded, not thrown into the test. */
  later(ms: number, fn: () => unknown): () => void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.run(fn);
    }, ms);
    this.timers.add(t);
    return () => {
      clearTimeout(t);
      this.timers.delete(t);
    };
  }

  run(fn: () => unknown): void {
    if (this.stopped) return;
    try {
      const out = fn();
      if (out instanceof Promise) out.catch((e: unknown) => this.fail(e));
    } catch (e) {
      this.fail(e);
    }
  }

  fail(e: unknown): void {
    if (!this.stopped) this.errors.push(e instanceof Error ? e : new Error(String(e)));
  }

  event(object: string, reason: string, message: string): void {
    this.events.push({ object, reason, message });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

const key = (resource: Resource, ns: string, name: string) => `${resource}/${ns}/${name}`;
const clone = <T>(v: T): T => structuredClone(v);

export class Store {
  private rv = 1;
  /** Changes with rv <= floor are gone from the history. */
  private floor = 0;
  private readonly objects = new Map<string, KubeObject>();
  private history: Change[] = [];
  private readonly subscribers = new Set<(c: Change) => void>();
  private readonly queue: Change[] = [];
  private draining = false;
  private readonly life: Lifecycle;

  constructor(life: Lifecycle) {
    this.life = life;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  get(resource: Resource, ns: string, name: string): KubeObject | undefined {
    const obj = this.objects.get(key(resource, ns, name));
    return obj && clone(obj);
  }

  /** Sorted by namespace then name: the order of etcd keys, which a real list returns. */
  list(resource: Resource, ns?: string): KubeObject[] {
    const prefix = ns === undefined ? `${resource}/` : `${resource}/${ns}/`;
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => clone(o));
  }

  /** Stores a new object (name already decided, validation already done). */
  create(resource: Resource, ns: string, obj: KubeObject): KubeObject {
    const info = RESOURCES[resource];
    const stored = clone(obj);
    stored.apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    stored.kind = info.kind;
    stored.metadata = {
      ...stored.metadata,
      namespace: ns,
      uid: stored.metadata.uid ?? randomUUID(),
      resourceVersion: String(++this.rv),
      creationTimestamp: nowRfc3339(),
      ...(info.generation ? { generation: 1 } : {}),
    };
    delete stored.metadata.deletionTimestamp;
    delete stored.metadata.deletionGracePeriodSeconds;
    this.objects.set(key(resource, ns, stored.metadata.name ?? ''), stored);
    this.emit({ rv: this.rv, type: 'ADDED', resource, namespace: ns, object: clone(stored) });
    return clone(stored);
  }

  /**
   * Rewrites an object through `mutate`. A write that changes nothing is no write: the
   * resourceVersion stays and no event is sent, as on a real server.
   */
  update(
    resource: Resource,
    ns: string,
    name: string,
    mutate: (obj: KubeObject) => void,
  ): KubeObject | undefined {
    const current = this.objects.get(key(resource, ns, name));
    if (!current) return undefined;
    const next = clone(current);
    mutate(next);
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    if (JSON.stringify(next) === JSON.stringify(current)) return clone(current);
    next.metadata.resourceVersion = String(++this.rv);
    this.objects.set(key(resource, ns, name), next);
    this.emit({
      rv: this.rv,
      type: 'MODIFIED',
      resource,
      namespace: ns,
      object: clone(next),
      prev: clone(current),
    });
    return clone(next);
  }

  /** Removes an object; the DELETED event carries the revision of the deletion. */
  remove(resource: Resource, ns: string, name: string): KubeObject | undefined {
    const current = this.objects.get(key(resource, ns, name));
    if (!current) return undefined;
    this.objects.delete(key(resource, ns, name));
    const gone = clone(current);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, type: 'DELETED', resource, namespace: ns, object: clone(gone) });
    return gone;
  }

  /** Objects of any resource in `ns` that name `uid` among their owners. */
  dependentsOf(uid: string, ns: string): { resource: Resource; object: KubeObject }[] {
    const out: { resource: Resource; object: KubeObject }[] = [];
    for (const [k, o] of this.objects) {
      if (o.metadata.namespace !== ns) continue;
      if ((o.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) {
        out.push({ resource: k.split('/')[0] as Resource, object: clone(o) });
      }
    }
    return out;
  }

  /** Changes after `rv`, or 'expired' when some of them were compacted away. */
  since(rv: number): Change[] | 'expired' {
    if (rv < this.floor) return 'expired';
    return this.history.filter((c) => c.rv > rv).map(clone);
  }

  get compactedRevision(): number {
    return this.floor;
  }

  compact(): void {
    this.floor = this.rv;
    this.history = [];
  }

  subscribe(fn: (c: Change) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  private emit(change: Change): void {
    this.history.push(change);
    this.queue.push(change);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let c = this.queue.shift(); c; c = this.queue.shift()) {
        for (const fn of [...this.subscribers]) {
          const delivered = c;
          this.life.run(() => fn(delivered));
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
