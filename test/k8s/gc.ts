/**
 * The garbage collector, by ownerReferences, a moment after each change (it is a controller,
 * not part of the request):
 * - an owner gone (Background deletion): dependents with no other live owner are deleted,
 *   those with one lose the dangling reference;
 * - an owner holding the `orphan` finalizer: its dependents lose their reference to it and
 *   keep running, then the finalizer goes and with it the owner;
 * - an owner holding `foregroundDeletion`: its dependents are deleted first, the owner last;
 * - a new object whose owners do not exist (wrong uid, owner already gone) is deleted.
 */
import { ApiError, resourceOfKind } from './resources.ts';
import type { Registry } from './registry.ts';
import type { Change, Lifecycle, Store } from './store.ts';
import type { KubeObject, OwnerReference } from './types.ts';

export class GarbageCollector {
  private readonly store: Store;
  private readonly registry: Registry;
  private readonly life: Lifecycle;

  constructor(store: Store, registry: Registry, life: Lifecycle, delayMs: number) {
    this.store = store;
    this.registry = registry;
    this.life = life;
    store.subscribe((c) => this.life.later(delayMs, () => this.process(c)));
  }

  private ownerExists(ref: OwnerReference, ns: string): boolean {
    const resource = resourceOfKind(ref.apiVersion, ref.kind);
    // A kind it cannot map, the real collector cannot check either: it leaves the object alone.
    if (!resource) return true;
    return this.store.get(resource, ns, ref.name)?.metadata.uid === ref.uid;
  }

  /** Deletes unless it is already gone; a race with another deleter is not an error. */
  private remove(resource: Parameters<Registry['delete']>[0], obj: KubeObject): void {
    const { namespace = 'default', name = '' } = obj.metadata;
    try {
      this.registry.delete(resource, namespace, name, {
        propagationPolicy: 'Background',
        preconditions: { uid: obj.metadata.uid ?? '' },
      });
    } catch (e) {
      if (!(e instanceof ApiError) || (e.code !== 404 && e.code !== 409)) throw e;
    }
  }

  private dropRef(resource: Parameters<Registry['delete']>[0], obj: KubeObject, uid: string): void {
    const { namespace = 'default', name = '' } = obj.metadata;
    this.store.update(resource, namespace, name, (o) => {
      const refs = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      if (refs.length > 0) o.metadata.ownerReferences = refs;
      else delete o.metadata.ownerReferences;
    });
  }

  private process(c: Change): void {
    const meta = c.object.metadata;
    const uid = meta.uid ?? '';
    if (c.type === 'DELETED') {
      for (const dep of this.store.dependentsOf(uid, c.namespace)) {
        const others = (dep.object.metadata.ownerReferences ?? []).filter(
          (r) => r.uid !== uid && this.ownerExists(r, c.namespace),
        );
        if (others.length > 0) this.dropRef(dep.resource, dep.object, uid);
        else if (!dep.object.metadata.deletionTimestamp) this.remove(dep.resource, dep.object);
      }
      for (const ref of meta.ownerReferences ?? []) this.checkForeground(ref, c.namespace);
      return;
    }
    const current = this.store.get(c.resource, c.namespace, meta.name ?? '');
    if (!current || current.metadata.uid !== uid) return;
    const finalizers = current.metadata.finalizers ?? [];
    if (current.metadata.deletionTimestamp && finalizers.includes('orphan')) {
      for (const dep of this.store.dependentsOf(uid, c.namespace)) {
        this.dropRef(dep.resource, dep.object, uid);
      }
      this.registry.removeFinalizer(c.resource, c.namespace, meta.name ?? '', 'orphan');
    }
    if (current.metadata.deletionTimestamp && finalizers.includes('foregroundDeletion')) {
      const deps = this.store.dependentsOf(uid, c.namespace);
      for (const dep of deps) {
        if (!dep.object.metadata.deletionTimestamp) this.remove(dep.resource, dep.object);
      }
      if (deps.length === 0) {
        this.registry.removeFinalizer(
          c.resource,
          c.namespace,
          meta.name ?? '',
          'foregroundDeletion',
        );
      }
    }
    if (c.type === 'ADDED' && (meta.ownerReferences ?? []).length > 0) {
      const refs = meta.ownerReferences ?? [];
      if (refs.every((r) => !this.ownerExists(r, c.namespace))) {
        this.life.event(
          `${c.resource}/${meta.name ?? ''}`,
          'GarbageCollected',
          'all owners are absent',
        );
        this.remove(c.resource, current);
      }
    }
  }

  /** A dependent went: an owner deleting in the foreground may now be done. */
  private checkForeground(ref: OwnerReference, ns: string): void {
    const resource = resourceOfKind(ref.apiVersion, ref.kind);
    if (!resource) return;
    const owner = this.store.get(resource, ns, ref.name);
    if (!owner || owner.metadata.uid !== ref.uid) return;
    if (!(owner.metadata.finalizers ?? []).includes('foregroundDeletion')) return;
    if (this.store.dependentsOf(ref.uid, ns).length === 0) {
      this.registry.removeFinalizer(resource, ns, ref.name, 'foregroundDeletion');
    }
  }
}
