/**
 * FakeCluster: an in-process stand-in for a Kubernetes cluster, for tests that drive the real
 * `@kubernetes/client-node` over real HTTP. It serves batch/v1 Jobs and v1 pods, Secrets,
 * ConfigMaps (plus ServiceAccounts, Roles, RoleBindings as plain stores), runs a Job
 * controller, a garbage collector, a scheduler and a kubelet that starts containers as local
 * processes. The server is faithful in the places clients get wrong: DeleteOptions read only
 * from a body when one is sent, Orphan as the Jobs' default, two-step Job conditions, 410
 * Expired on a compacted watch, 400 for logs of a container not started yet.
 *
 * Where it differs from a real cluster (no images or isolation, hostEnv, path rewriting, no
 * restarts, ...) is listed in test/k8s/README.md.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GarbageCollector } from './gc.ts';
import { JobController } from './job-controller.ts';
import { Kubelet } from './kubelet.ts';
import type { ContainerEngine } from './kubelet.ts';
import { servePodLogs } from './logs.ts';
import { Registry } from './registry.ts';
import type { Propagation } from './registry.ts';
import { ApiError, badRequest } from './resources.ts';
import type { Resource } from './resources.ts';
import { deleteOptions, listBody, parsePath, readBody, send, truthy } from './rest.ts';
import type { RecordedRequest, Stream } from './rest.ts';
import { Lifecycle, Store } from './store.ts';
import type { Job, KubeObject, Pod } from './types.ts';
import { serveWatch } from './watch.ts';

export type { Resource } from './resources.ts';
export type { RecordedRequest } from './rest.ts';
export type { ConfigMap, Job, KubeObject, Pod, Secret } from './types.ts';
export type { ContainerEngine } from './kubelet.ts';

export interface FakeClusterOptions {
  /** Container path prefix to local dir, e.g. { '/opt/nexus': repoRoot }; applied to args, env values, workingDir. */
  pathMap?: Record<string, string>;
  /**
   * Env added to every container process (PATH, HOME, ... so `node`, `git` and the agent CLIs
   * resolve). A real kubelet passes nothing of the node's environment; containers get their
   * image's env and the pod spec's only.
   */
  hostEnv?: Record<string, string>;
  /** Images that exist; a container whose image does not goes ErrImagePull, then ImagePullBackOff. Default: all exist. */
  images?: (image: string) => boolean;
  /** Whether the scheduler can place a pod (stands for nodeSelector, tolerations, resources). Default: yes. */
  schedulable?: (pod: Pod) => boolean;
  /** Time a pod spends ContainerCreating after its volumes are mounted, ms. Default 0. */
  startDelayMs?: number;
  /** Namespaces that exist. Default ['default']. */
  namespaces?: string[];
  /** Interval of watch BOOKMARK events (for watches that allow them), ms. Default 1000 (real: about a minute). */
  bookmarkIntervalMs?: number;
  /** First back-off before the Job controller replaces a failed pod, doubling per failure, ms. Default 10000 (as real). */
  jobBackoffMs?: number;
  /** An image's ENTRYPOINT, for containers without `command`. Without one such a container fails CreateContainerError. */
  entrypoints?: Record<string, string[]>;
  /** How often emptyDir sizeLimit and memory limits are checked, ms. Default 500. */
  resourceCheckMs?: number;
  /** Delay of the garbage collector after each change, ms. Default 0 (still asynchronous). */
  gcDelayMs?: number;
  /**
   * Runs each container in a real container engine (its image, users, read-only root,
   * capabilities: `podmanEngine` in podman.ts) instead of as a host process; `pathMap` and
   * `hostEnv` then do not apply.
   */
  engine?: ContainerEngine;
}

export class FakeCluster {
  readonly requests: RecordedRequest[] = [];
  readonly token = `fake-${Math.random().toString(36).slice(2)}`;
  private address = '';
  private readonly server: Server;
  private readonly life = new Lifecycle();
  private readonly store = new Store(this.life);
  private readonly registry: Registry;
  private readonly kubelet: Kubelet;
  private readonly streams = new Set<Stream>();
  private readonly bookmarkMs: number;
  /** Between `outage` and `restore`. */
  private down = false;

  private constructor(opts: FakeClusterOptions) {
    this.registry = new Registry(this.store, opts.namespaces ?? ['default']);
    new GarbageCollector(this.store, this.registry, this.life, opts.gcDelayMs ?? 0);
    new JobController(this.store, this.registry, this.life, opts.jobBackoffMs ?? 10_000);
    this.kubelet = new Kubelet(this.store, this.registry, this.life, {
      root: mkdtempSync(join(tmpdir(), 'nexus-fake-kubelet-')),
      pathMap: opts.pathMap ?? {},
      hostEnv: opts.hostEnv ?? {},
      images: opts.images ?? (() => true),
      schedulable: opts.schedulable ?? (() => true),
      startDelayMs: opts.startDelayMs ?? 0,
      entrypoints: opts.entrypoints ?? {},
      resourceCheckMs: opts.resourceCheckMs ?? 500,
      ...(opts.engine ? { engine: opts.engine } : {}),
    });
    this.bookmarkMs = opts.bookmarkIntervalMs ?? 1000;
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  /** Starts the server on 127.0.0.1 and a free port. */
  static async start(opts: FakeClusterOptions = {}): Promise<FakeCluster> {
    const cluster = new FakeCluster(opts);
    await new Promise<void>((resolve, reject) => {
      cluster.server.once('error', reject);
      cluster.server.listen(0, '127.0.0.1', resolve);
    });
    cluster.address = `http://127.0.0.1:${(cluster.server.address() as AddressInfo).port}`;
    return cluster;
  }

  get url(): string {
    return this.address;
  }

  /** Failures inside the fake (a bug in it, not in the client); a test can assert none. */
  get errors(): readonly Error[] {
    return this.life.errors;
  }

  /** Events such as FailedMount, FailedCreate, SuccessfulCreate (not served over the API). */
  get events(): readonly { object: string; reason: string; message: string }[] {
    return this.life.events;
  }

  /** A kubeconfig (YAML) for this server: context `fake`, bearer token, plain HTTP. */
  kubeconfig(namespace = 'default'): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '  - name: fake',
      '    cluster:',
      `      server: ${this.url}`,
      // client-node refuses an http:// server unless TLS verification is off.
      '      insecure-skip-tls-verify: true',
      'users:',
      '  - name: fake',
      '    user:',
      `      token: ${this.token}`,
      'contexts:',
      '  - name: fake',
      '    context:',
      '      cluster: fake',
      '      user: fake',
      `      namespace: ${namespace}`,
      'current-context: fake',
      '',
    ].join('\n');
  }

  get<T extends KubeObject = KubeObject>(
    resource: Resource,
    name: string,
    namespace = 'default',
  ): T | undefined {
    return this.store.get(resource, namespace, name) as T | undefined;
  }

  list<T extends KubeObject = KubeObject>(resource: Resource, namespace?: string): T[] {
    return this.store.list(resource, namespace) as T[];
  }

  job(name: string, namespace = 'default'): Job | undefined {
    return this.get<Job>('jobs', name, namespace);
  }

  pod(name: string, namespace = 'default'): Pod | undefined {
    return this.get<Pod>('pods', name, namespace);
  }

  /** The pods the Job controller made for Job `job` (by the job-name label). */
  podsOf(job: string, namespace = 'default'): Pod[] {
    return this.list<Pod>('pods', namespace).filter(
      (p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === job,
    );
  }

  /** A container's log so far (default: the pod's first container), undefined before it started. */
  log(pod: string, container?: string, namespace = 'default'): string | undefined {
    const name = container ?? this.pod(pod, namespace)?.spec.containers[0]?.name ?? '';
    const log = this.kubelet.logOf(namespace, pod, name);
    return log?.started ? log.text() : undefined;
  }

  /** The pid of a running container's process (default: the first container). */
  pid(pod: string, container?: string, namespace = 'default'): number | undefined {
    const name = container ?? this.pod(pod, namespace)?.spec.containers[0]?.name ?? '';
    return this.kubelet.pidOf(namespace, pod, name);
  }

  /** Creates an object as a cluster admin would (kubectl apply), not recorded as a request. */
  create<T extends KubeObject = KubeObject>(
    resource: Resource,
    body: unknown,
    namespace = 'default',
  ): T {
    return this.registry.create(resource, namespace, body) as T;
  }

  /** `kubectl delete job NAME`: someone outside Nexus; kubectl's default cascade is background. */
  deleteJob(
    name: string,
    opts: { namespace?: string; propagationPolicy?: Propagation } = {},
  ): void {
    this.registry.delete('jobs', opts.namespace ?? 'default', name, {
      propagationPolicy: opts.propagationPolicy ?? 'Background',
    });
  }

  /** Evicts a pod through the Eviction API (DisruptionTarget condition, graceful deletion). */
  evict(pod: string, namespace = 'default'): void {
    this.registry.evict(namespace, pod);
  }

  /** Compacts the watch history: a watch from any resourceVersion before now gets 410 Expired. */
  compact(): void {
    this.store.compact();
  }

  /** The current resourceVersion (etcd's revision). */
  get resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  /**
   * Ends every open watch and log stream. By default cleanly (the chunked response ends, as
   * when the server closes a watch); `abrupt` resets the connections instead (a network drop).
   */
  dropStreams(opts: { abrupt?: boolean } = {}): void {
    for (const s of [...this.streams]) {
      if (opts.abrupt) s.reset();
      else s.end();
    }
  }

  /**
   * The API server goes away (a control-plane outage, a network partition) while the cluster
   * goes on: its listening socket closes and every open connection is reset, so clients get
   * ECONNREFUSED; the kubelet keeps running pods and the controllers keep acting. `restore`
   * listens again on the same port (the kubeconfig stays valid).
   */
  async outage(): Promise<void> {
    if (this.down) return;
    this.down = true;
    this.dropStreams({ abrupt: true });
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Ends an `outage`: the server answers again on its old address. */
  async restore(): Promise<void> {
    if (!this.down) return;
    const port = Number(new URL(this.address).port);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.down = false;
  }

  /** Polls `probe` until it returns a value that is not undefined, null or false. */
  async waitFor<T>(
    what: string,
    probe: () => T | undefined | null | false,
    timeoutMs = 10_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v !== undefined && v !== null && v !== false) return v;
      if (Date.now() > deadline)
        throw new Error(`FakeCluster: timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Kills every container process it started, ends every stream, closes the server. */
  async stop(): Promise<void> {
    this.dropStreams();
    await this.kubelet.stop();
    this.life.stop();
    if (this.down) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private track(stream: Stream | undefined, res: ServerResponse): void {
    if (!stream) return;
    this.streams.add(stream);
    res.on('close', () => this.streams.delete(stream));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      body: undefined,
      authorized: req.headers.authorization === `Bearer ${this.token}`,
    };
    const contentType = req.headers['content-type'];
    if (contentType) record.contentType = contentType;
    this.requests.push(record);
    try {
      const raw = await readBody(req);
      let bodyError: string | undefined;
      if (raw.length > 0) {
        try {
          record.body = JSON.parse(raw.toString());
        } catch (e) {
          record.body = raw.toString();
          bodyError = (e as Error).message;
        }
      }
      if (!record.authorized) {
        throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      }
      if (bodyError) throw badRequest(`json parse error: ${bodyError}`);
      this.route(res, record, raw.length > 0);
    } catch (e) {
      if (res.headersSent) {
        res.end();
      } else if (e instanceof ApiError) {
        send(res, e.code, e.toStatus());
      } else {
        this.life.fail(e);
        send(res, 500, new ApiError(500, 'InternalError', String(e)).toStatus());
      }
    }
  }

  private route(res: ServerResponse, record: RecordedRequest, hasBody: boolean): void {
    const { method, path, query, body } = record;
    if (path === '/version' && method === 'GET') {
      send(res, 200, {
        major: '1',
        minor: '33',
        gitVersion: 'v1.33.0-fake',
        platform: 'linux/amd64',
      });
      return;
    }
    const r = parsePath(path);
    if (!r) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const { resource, ns, name, sub } = r;
    const namespaced = (): string => {
      if (ns === undefined)
        throw new ApiError(
          405,
          'MethodNotAllowed',
          'the server does not allow this method on the requested resource',
        );
      return ns;
    };
    if (
      sub !== undefined &&
      !(sub === 'status' && method === 'GET') &&
      !(resource === 'pods' && (sub === 'log' || sub === 'eviction'))
    ) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (method === 'GET' && name === undefined) {
      if (truthy(query.watch))
        this.track(serveWatch(this.store, res, resource, ns, query, this.bookmarkMs), res);
      else send(res, 200, listBody(this.store, resource, ns, query));
    } else if (method === 'GET' && sub === 'log') {
      const podNs = namespaced();
      const pod = this.get<Pod>('pods', name ?? '', podNs);
      const logOf = (c: string) => this.kubelet.logOf(podNs, name ?? '', c);
      this.track(servePodLogs(pod, name ?? '', logOf, res, query), res);
    } else if (method === 'GET') {
      send(res, 200, this.registry.get(resource, namespaced(), name ?? ''));
    } else if (method === 'POST' && sub === 'eviction') {
      const answer = this.registry.evict(namespaced(), name ?? '');
      send(res, answer.code, answer.body);
    } else if (method === 'POST' && name === undefined) {
      send(res, 201, this.registry.create(resource, namespaced(), body, query.dryRun === 'All'));
    } else if (method === 'PUT' && name !== undefined) {
      send(res, 200, this.registry.replace(resource, namespaced(), name, body));
    } else if (method === 'PATCH' && name !== undefined) {
      send(
        res,
        200,
        this.registry.patch(resource, namespaced(), name, record.contentType ?? '', body),
      );
    } else if (method === 'DELETE') {
      const opts = deleteOptions(record, hasBody);
      if (name === undefined) {
        const deleted = listBody(this.store, resource, namespaced(), query);
        for (const item of deleted.items)
          this.registry.delete(resource, namespaced(), item.metadata.name ?? '', opts);
        send(res, 200, deleted);
      } else {
        const answer = this.registry.delete(resource, namespaced(), name, opts);
        send(res, answer.code, answer.body);
      }
    } else {
      throw new ApiError(
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
    }
  }
}
