/**
 * Kubernetes runs through the stand-in (test/k8s: a real HTTP API server driven by the real
 * client, whose kubelet runs each container as a local process), against the local runtime in
 * the same run. Core is a core host in this process, as `nexus serve` runs it; each cluster
 * runs in a process of its own (bench/kubernetes-cluster.ts), so core's memory is core's.
 *
 * 1. Start to first report: from `startRun` until core has applied the runner's first report
 *    (`run.started`), and until the run ends verified — the real runner (`dist/runner.mjs`)
 *    with a scripted agent (one shell step: make the file, mark the task done; the check
 *    verifies it), once in a pod (Job, Secret, inbox, the stage init container, a clone of the
 *    repository, reports on the pod log) and once as a local process (reports over the bridge).
 * 2. 200 runs in flight in two namespaces: core's heap and RSS per run in flight, and the
 *    watch connections the stand-in recorded (target: one per namespace per kind, not one per
 *    Job). The pods run a shell stand-in for the runner (bench/kubernetes-pod.sh: it signs and
 *    prints `run.started`, then waits) — 200 Node runners would not fit on a small machine, and
 *    this measures core, not the pod. Then all 200 are cancelled (Job deleted) and what core
 *    keeps afterwards is measured.
 *
 * Run with --expose-gc (bench/run.ts does): memory is read after a full collection.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoreHost } from '../src/adapters/host/index.ts';
import type { CoreHost } from '../src/adapters/host/index.ts';
import type { RunEvent } from '../src/core/domain/events.ts';
import type { ClusterReply, ClusterSpec, RequestSummary } from './kubernetes-cluster.ts';
import { line, median, ms, ratio } from './util.ts';

const REPO = join(import.meta.dirname, '..');
const RUNNER = join(REPO, 'dist', 'runner.mjs');
const ROUNDS = 4;
const IN_FLIGHT = 200;
const NAMESPACES = ['nexus-bench-a', 'nexus-bench-b'];
const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Nexus Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'Nexus Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
};

interface Cluster {
  child: ChildProcess;
  kubeconfig: string;
  summary(): Promise<RequestSummary>;
  stop(): Promise<void>;
}

async function startCluster(spec: ClusterSpec): Promise<Cluster> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'kubernetes-cluster.ts'), JSON.stringify(spec)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const next = (): Promise<ClusterReply> =>
    new Promise((resolve, reject) => {
      child.once('message', (m) => resolve(m as ClusterReply));
      child.once('exit', (code) => reject(new Error(`the stand-in cluster exited (${code})`)));
    });
  const first = await next();
  if (!('kubeconfig' in first)) throw new Error('the stand-in cluster sent no kubeconfig');
  const dir = mkdtempSync(join(tmpdir(), 'nexus-bench-kube-'));
  const kubeconfig = join(dir, 'config');
  writeFileSync(kubeconfig, first.kubeconfig, { mode: 0o600 });
  return {
    child,
    kubeconfig,
    async summary() {
      const reply = next();
      child.send('requests');
      const r = await reply;
      if (!('summary' in r)) throw new Error('the stand-in cluster answered no summary');
      return r.summary;
    },
    async stop() {
      const gone = new Promise((r) => child.once('exit', r));
      child.send('stop');
      await gone;
    },
  };
}

/** A workspace whose `origin` is a bare repository a pod can clone, with the given agents. */
function benchRepo(agents: Record<string, string[]>): string {
  const ws = mkdtempSync(join(tmpdir(), 'nexus-bench-k8s-'));
  const write = (rel: string, text: string): void => {
    mkdirSync(join(ws, rel, '..'), { recursive: true });
    writeFileSync(join(ws, rel), text);
  };
  for (const [name, lines] of Object.entries(agents))
    write(
      `.nexus/agents/${name}.md`,
      ['---', 'backend: claude', 'model: bench', 'limits:', '  max_attempts: 2', ...lines, '---']
        .concat('bench')
        .join('\n'),
    );
  write(
    '.nexus/assignments/one.md',
    '---\ntasks:\n  - id: make\n    title: Make out.txt\n    verify:\n      - test -f out.txt\n---\nMake out.txt.',
  );
  write(
    'script.json',
    JSON.stringify({ attempts: [['echo x > out.txt && nexus task set make completed']] }),
  );
  write('.gitignore', '.nexus/state/\n');
  const git = (cwd: string, ...args: string[]): void => {
    execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, stdio: 'ignore' });
  };
  git(ws, 'init', '-q', '-b', 'main');
  git(ws, 'add', '-A');
  git(ws, 'commit', '-q', '-m', 'bench');
  const bare = mkdtempSync(join(tmpdir(), 'nexus-bench-origin-'));
  git(ws, 'clone', '-q', '--bare', ws, bare);
  git(ws, 'remote', 'add', 'origin', bare);
  return ws;
}

const kubeAgent = (namespace: string): string[] => [
  'runtime: kubernetes',
  'kubernetes:',
  `  namespace: ${namespace}`,
  '  image: nexus-runner:bench',
];

/** When each run's first report and end reached core (performance.now()). */
class RunClock {
  readonly started = new Map<string, number>();
  readonly ended = new Map<string, { at: number; type: string }>();
  constructor(host: CoreHost) {
    host.core.hub.on((e: RunEvent) => {
      if (e.type === 'nexus.agent.run.started') this.started.set(e.run_id, performance.now());
      if (e.type === 'nexus.agent.run.completed' || e.type === 'nexus.agent.run.failed')
        this.ended.set(e.run_id, { at: performance.now(), type: e.type });
    });
  }
  async until(what: string, done: () => boolean, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function host(ws: string, kubeconfig: string, cap: number): Promise<CoreHost> {
  process.env.KUBECONFIG = kubeconfig;
  return startCoreHost({
    workspace: ws,
    stateDir: join(ws, '.nexus', 'state'),
    userConfigDir: join(ws, 'none'),
    owner: 'bench',
    maxConcurrent: cap,
  });
}

async function firstReport(): Promise<void> {
  const ws = benchRepo({ local: [], kube: kubeAgent(NAMESPACES[0] as string) });
  // The scripted agent, for the local runner and the pod's alike; the same runner build.
  const agentEnv = {
    NEXUS_TEST_BACKEND: join(REPO, 'test', 'fakes', 'scripted-backend.ts'),
    NEXUS_SCRIPT_FILE: join(ws, 'script.json'),
    ...GIT_ENV,
  };
  Object.assign(process.env, agentEnv, { NEXUS_RUNNER_ENTRY: RUNNER });
  const cluster = await startCluster({
    namespaces: [NAMESPACES[0] as string],
    pathMap: { '/opt/nexus/dist/runner.mjs': RUNNER },
    hostEnv: { PATH: process.env.PATH ?? '', ...agentEnv },
  });
  const h = await host(ws, cluster.kubeconfig, 4);
  const clock = new RunClock(h);
  const times = {
    local: { first: [] as number[], end: [] as number[] },
    kube: { first: [] as number[], end: [] as number[] },
  };
  try {
    // Round 0 warms the file cache and core's modules; it is not counted.
    for (let round = 0; round <= ROUNDS; round++) {
      for (const agent of ['local', 'kube'] as const) {
        const t0 = performance.now();
        const run = await h.core.service.startRun({
          create: { agent, assignment: 'one', kind: 'bg' },
        });
        await clock.until(`${agent} run ${run.id} to end`, () => clock.ended.has(run.id));
        const end = clock.ended.get(run.id);
        if (end?.type !== 'nexus.agent.run.completed')
          throw new Error(
            `${agent} run ${run.id} did not end verified: ${(await h.core.store.readRun(run.id)).outcome?.reason}`,
          );
        if (round === 0) continue;
        times[agent].first.push((clock.started.get(run.id) ?? NaN) - t0);
        times[agent].end.push(end.at - t0);
      }
    }
  } finally {
    await h.close();
    await cluster.stop();
  }
  const [lf, kf, le, ke] = [
    times.local.first,
    times.kube.first,
    times.local.end,
    times.kube.end,
  ].map(median) as [number, number, number, number];
  line(`start → first report applied, local runtime (median of ${ROUNDS})`, ms(lf), 'baseline');
  line(
    `start → first report applied, Kubernetes stand-in (median of ${ROUNDS})`,
    ms(kf),
    `${ratio(kf / lf)} of local`,
  );
  line('start → run ended verified, local runtime', ms(le), 'baseline');
  line('start → run ended verified, Kubernetes stand-in', ms(ke), `${ratio(ke / le)} of local`);
}

/** Core's heap and RSS after a settle and a full collection. */
async function memory(): Promise<{ heap: number; rss: number }> {
  await new Promise((r) => setTimeout(r, 500));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

async function inFlight(): Promise<void> {
  const agents = Object.fromEntries(NAMESPACES.map((ns, i) => [`kube${i}`, kubeAgent(ns)]));
  const ws = benchRepo(agents);
  const stub = join(import.meta.dirname, 'kubernetes-pod.sh');
  const cluster = await startCluster({
    namespaces: NAMESPACES,
    // The image's `node` is a shell here, and its runner the stand-in script.
    pathMap: { node: '/bin/sh', '/opt/nexus/dist/runner.mjs': stub },
    hostEnv: { PATH: process.env.PATH ?? '' },
    resourceCheckMs: 5_000,
  });
  const h = await host(ws, cluster.kubeconfig, IN_FLIGHT + 10);
  const clock = new RunClock(h);
  const start = async (n: number, from: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, n - i) }, (_, j) =>
          h.core.service.startRun({
            create: {
              agent: `kube${(from + i + j) % NAMESPACES.length}`,
              assignment: 'one',
              kind: 'bg',
            },
          }),
        ),
      );
      ids.push(...batch.map((r) => r.id));
    }
    await clock.until(`${n} runs in flight`, () => ids.every((id) => clock.started.has(id)));
    return ids;
  };
  const cancel = async (ids: string[]): Promise<void> => {
    for (let i = 0; i < ids.length; i += 20)
      await Promise.all(ids.slice(i, i + 20).map((id) => h.core.service.cancelRun(id)));
    await clock.until(`${ids.length} runs to end`, () => ids.every((id) => clock.ended.has(id)));
  };
  try {
    await cancel(await start(10, 0)); // warm-up: modules, the watches, the client's agents
    const m0 = await memory();
    const t0 = performance.now();
    const half = await start(IN_FLIGHT / 2, 0);
    const m1 = await memory();
    const rest = await start(IN_FLIGHT / 2, IN_FLIGHT / 2);
    const tStarted = performance.now() - t0;
    const m2 = await memory();
    const s = await cluster.summary();
    const watches = Object.entries(s.watches);
    const t1 = performance.now();
    await cancel([...half, ...rest]);
    const tCancelled = performance.now() - t1;
    const m3 = await memory();
    const half_ = IN_FLIGHT / 2;
    const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
    line(
      `${IN_FLIGHT} runs started until all in flight (first report applied)`,
      `${(tStarted / 1000).toFixed(1)} s`,
      `${NAMESPACES.length} namespaces, pods: shell stand-in`,
    );
    line(
      `watch connections with ${IN_FLIGHT} runs in flight`,
      String(watches.reduce((n, [, c]) => n + c, 0)),
      `target ${NAMESPACES.length * 2} (one per namespace per kind): ${watches.map(([p, c]) => `${p.replace(/^\/apis?\/(batch\/)?v1\/namespaces\//, '')} ${c}`).join(', ')}`,
    );
    line(
      'pod log follows opened (one per run is the design)',
      String(s.logFollows),
      `${s.total} API requests in all`,
    );
    line(`core heap per run in flight, 0 → ${half_}`, kib((m1.heap - m0.heap) / half_));
    line(
      `core heap per run in flight, ${half_} → ${IN_FLIGHT}`,
      kib((m2.heap - m1.heap) / half_),
      'flat: about the line above',
    );
    line(`core RSS per run in flight, 0 → ${half_}`, kib((m1.rss - m0.rss) / half_));
    line(`core RSS per run in flight, ${half_} → ${IN_FLIGHT}`, kib((m2.rss - m1.rss) / half_));
    line(
      `${IN_FLIGHT} runs cancelled until all ended`,
      `${(tCancelled / 1000).toFixed(1)} s`,
      'Job deleted (Background), run settled',
    );
    line(
      `core heap kept per run after all ${IN_FLIGHT} ended`,
      kib((m3.heap - m0.heap) / IN_FLIGHT),
      'what core keeps of an ended run, its index entry included',
    );
  } finally {
    await h.close();
    await cluster.stop();
  }
}

export async function benchKubernetes(): Promise<void> {
  process.stdout.write('\n== kubernetes: through the stand-in (test/k8s) vs the local runtime\n');
  if (!existsSync(RUNNER)) {
    line('kubernetes', 'n/a', 'no dist/runner.mjs: npm run build');
    return;
  }
  await firstReport();
  await inFlight();
}

// `node --expose-gc bench/kubernetes.ts` runs this part alone.
if (import.meta.url === `file://${process.argv[1]}`) await benchKubernetes();
