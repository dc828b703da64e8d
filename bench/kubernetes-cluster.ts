/**
 * The Kubernetes benchmark's cluster: the stand-in (test/k8s) in a process of its own, so that
 * core's memory, measured in the benchmark's process, holds nothing of the cluster's (its
 * objects, pod logs, container processes). Started by bench/kubernetes.ts with an IPC channel:
 * it sends `{ kubeconfig }` once up, answers `requests` with what its request log says about
 * watches and log follows, and stops (every container killed) on `stop`.
 *
 * argv[2] is a JSON `ClusterSpec`.
 */
import { FakeCluster } from '../test/k8s/apiserver.ts';

export interface ClusterSpec {
  namespaces: string[];
  /** Container path → local path (the runner's entry, or the shell stand-in). */
  pathMap: Record<string, string>;
  hostEnv: Record<string, string>;
  /** How often the kubelet polls emptyDir sizes and memory, ms. */
  resourceCheckMs?: number;
}

/** What the request log says, per path: watches opened and pod logs followed. */
export interface RequestSummary {
  total: number;
  watches: Record<string, number>;
  logFollows: number;
}

export type ClusterReply = { kubeconfig: string } | { summary: RequestSummary };

if (import.meta.url === `file://${process.argv[1]}`) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ClusterSpec;
  const cluster = await FakeCluster.start({
    namespaces: spec.namespaces,
    pathMap: spec.pathMap,
    hostEnv: spec.hostEnv,
    ...(spec.resourceCheckMs ? { resourceCheckMs: spec.resourceCheckMs } : {}),
  });
  for (const ns of spec.namespaces)
    cluster.create('serviceaccounts', { metadata: { name: 'nexus-runner' } }, ns);
  const send = (m: ClusterReply): void => void process.send?.(m);
  process.on('message', (m: string) => {
    if (m === 'requests') {
      const watches: Record<string, number> = {};
      let logFollows = 0;
      for (const q of cluster.requests) {
        if (q.query.watch === 'true' || q.query.watch === '1')
          watches[q.path] = (watches[q.path] ?? 0) + 1;
        if (q.path.endsWith('/log') && q.query.follow === 'true') logFollows++;
      }
      send({ summary: { total: cluster.requests.length, watches, logFollows } });
    } else if (m === 'stop') {
      void cluster.stop().then(() => process.exit(0));
    }
  });
  // The benchmark gone (killed, crashed): take the containers with it.
  process.on('disconnect', () => void cluster.stop().then(() => process.exit(0)));
  send({ kubeconfig: cluster.kubeconfig(spec.namespaces[0]) });
}
