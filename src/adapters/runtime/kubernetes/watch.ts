/**
 * One watch per namespace and kind (pods, Jobs) for every run there — not one per run: 200
 * runs in flight are two connections. A watch the server ends (client-node 2.x ends a quiet one
 * after about 30 s) resumes from the last resourceVersion it saw (bookmarks keep it fresh); a
 * 410 Expired (the history was compacted) starts over from a fresh list, whose objects are
 * replayed as MODIFIED so nothing that happened in the gap is missed. A first list the cluster
 * does not answer (it is down while core starts) is retried with back-off until it answers.
 */
import type { KubeConfig, V1Job, V1Pod } from '@kubernetes/client-node';
import { toUserMessage } from '../../../core/errors.ts';
import { untilAnswered } from './cluster-wait.ts';
import { kubernetesClient } from './kubeconfig.ts';

const MANAGED = 'app.kubernetes.io/managed-by=nexus';

export interface NamespaceWatchHandlers {
  onPod(pod: V1Pod, type: string): void;
  onJob(job: V1Job, type: string): void;
  log?: ((line: string) => void) | undefined;
}

export class NamespaceWatch {
  readonly #kc: KubeConfig;
  readonly #namespace: string;
  readonly #h: NamespaceWatchHandlers;
  readonly #aborts = new Set<AbortController>();
  readonly #stop = new AbortController();
  #stopped = false;

  constructor(kc: KubeConfig, namespace: string, handlers: NamespaceWatchHandlers) {
    this.#kc = kc;
    this.#namespace = namespace;
    this.#h = handlers;
  }

  /** Lists pods and Jobs, then watches; never throws (a failed list is retried meanwhile). */
  async start(): Promise<void> {
    await Promise.all([
      this.#run(`/api/v1/namespaces/${this.#namespace}/pods`, (o, t) =>
        this.#h.onPod(o as V1Pod, t),
      ),
      this.#run(`/apis/batch/v1/namespaces/${this.#namespace}/jobs`, (o, t) =>
        this.#h.onJob(o as V1Job, t),
      ),
    ]);
  }

  stop(): void {
    this.#stopped = true;
    this.#stop.abort();
    for (const a of this.#aborts) a.abort();
  }

  /** Lists, delivers, then watches from the list's resourceVersion until stopped. */
  async #run(path: string, deliver: (obj: unknown, type: string) => void): Promise<void> {
    try {
      const version = await this.#list(path, deliver);
      void this.#loop(path, deliver, version);
    } catch (err) {
      this.#h.log?.(`watch ${path}: could not list (${toUserMessage(err)}); retrying`);
      void untilAnswered(() => this.#list(path, deliver), { signal: this.#stop.signal }).then(
        (listed) => listed && this.#loop(path, deliver, listed.value),
      );
    }
  }

  async #list(path: string, deliver: (obj: unknown, type: string) => void): Promise<string> {
    const k8s = await kubernetesClient();
    const namespace = this.#namespace;
    const list = path.includes('/jobs')
      ? await this.#kc
          .makeApiClient(k8s.BatchV1Api)
          .listNamespacedJob({ namespace, labelSelector: MANAGED })
      : await this.#kc
          .makeApiClient(k8s.CoreV1Api)
          .listNamespacedPod({ namespace, labelSelector: MANAGED });
    for (const item of list.items) deliver(item, 'MODIFIED');
    return list.metadata?.resourceVersion ?? '0';
  }

  async #loop(
    path: string,
    deliver: (obj: unknown, type: string) => void,
    from: string,
  ): Promise<void> {
    const k8s = await kubernetesClient();
    let version = from;
    let backoff = 250;
    while (!this.#stopped) {
      let expired = false;
      const ended = await new Promise<unknown>((resolve) => {
        new k8s.Watch(this.#kc)
          .watch(
            path,
            { labelSelector: MANAGED, allowWatchBookmarks: true, resourceVersion: version },
            (type: string, obj: { metadata?: { resourceVersion?: string }; code?: number }) => {
              if (type === 'ERROR') {
                if (obj.code === 410) expired = true;
                return;
              }
              if (obj.metadata?.resourceVersion) version = obj.metadata.resourceVersion;
              if (type !== 'BOOKMARK') deliver(obj, type);
              backoff = 250;
            },
            (err: unknown) => resolve(err),
          )
          .then((abort) => {
            this.#aborts.add(abort);
            if (this.#stopped) abort.abort();
          })
          .catch((err: unknown) => resolve(err));
      });
      if (this.#stopped) return;
      if (expired || (ended as { code?: number } | undefined)?.code === 410) {
        this.#h.log?.(`watch ${path}: history expired (410); listing again`);
        version = await this.#list(path, deliver).catch(() => version);
        continue;
      }
      if (ended) {
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }
}
