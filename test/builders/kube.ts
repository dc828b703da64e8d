/**
 * Runs on Kubernetes through the stand-in cluster (test/k8s), for the contract tests: one
 * cluster per test file whose kubelet runs the real runner from source, workspaces the pod can
 * clone, `nexus run` pointed at the cluster, and what the tests read back from a run's record.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLI,
  GIT_ENV,
  REPO,
  startCliJson,
  tempWorkspace,
  writeCommitAssignment,
} from './workspace.ts';
import type { TempWorkspace } from './workspace.ts';
import { FakeCluster } from '../k8s/apiserver.ts';
import type { ContainerEngine } from '../k8s/apiserver.ts';
import { until } from '../servers/harness.ts';
import type { Step } from '../servers/script.ts';

/** The scripted agent that does both tasks of the stand-in workspace's assignment, then says so. */
export const DONE: Step[] = [
  { shell: 'echo hello > hello.txt && nexus task set create-file completed --note "wrote it"' },
  { shell: 'ls > files.txt && nexus task set list-files completed' },
  { text: 'Both tasks are done.' },
];

export const NS = 'nexus-agents';

export interface Manifest {
  id: string;
  status: string;
  runtime: string;
  tasks: Array<{ id: string; status: string; verification: { state: string } }>;
  attempts: Array<{ n: number }>;
  approvals: Array<{ id: string; status: string; decided_by?: string }>;
  outcome?: { exit_code: number; reason: string };
}

export interface KubeCluster {
  cluster: FakeCluster;
  /** A kubeconfig file (0600) for the cluster, namespace NS. */
  kubeconfig: string;
}

/** Newest modification time of the files under `dir`. */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  return newest;
}

/**
 * The runner a "pod" runs: the build (`dist/runner.mjs`, what the image ships, several times
 * quicker to start than source) when it is newer than every source file, else the source — a
 * stale build must never stand in for the code under test.
 */
const RUNNER_ENTRY = (() => {
  const built = join(REPO, 'dist', 'runner.mjs');
  if (!existsSync(built)) return join(REPO, 'runner', 'bin.ts');
  const source = Math.max(newestUnder(join(REPO, 'runner')), newestUnder(join(REPO, 'src')));
  return statSync(built).mtimeMs >= source ? built : join(REPO, 'runner', 'bin.ts');
})();

/** The stand-in with the runner image's paths mapped to this checkout's runner. */
export async function startKubeCluster(
  opts: { env?: Record<string, string>; namespaces?: string[]; engine?: ContainerEngine } = {},
): Promise<KubeCluster> {
  const cluster = await FakeCluster.start({
    // Containers in a real engine (the runner image) instead of host processes.
    ...(opts.engine ? { engine: opts.engine } : {}),
    namespaces: opts.namespaces ?? [NS],
    // An image no registry has, and a node pool the cluster does not have.
    images: (image) => !image.startsWith('missing/'),
    schedulable: (pod) =>
      (pod.spec.nodeSelector as Record<string, string> | undefined)?.pool === undefined,
    // The image's paths, on this machine: the built runner, as the image ships it (`npm run
    // build` first, as CI does); from source when there is no build (slower to start).
    pathMap: { '/opt/nexus/dist/runner.mjs': RUNNER_ENTRY },
    // The real kubelet passes no host env; the stand-in's containers need PATH for node, git
    // and the agent CLIs, and the scripted server's quiet-mode switches.
    hostEnv: {
      PATH: `${join(REPO, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
      CLAUDE_CODE_MAX_RETRIES: '0',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      ...GIT_ENV,
      ...opts.env,
    },
  });
  for (const ns of opts.namespaces ?? [NS])
    cluster.create('serviceaccounts', { metadata: { name: 'nexus-runner' } }, ns);
  const dir = mkdtempSync(join(tmpdir(), 'nexus-kube-'));
  const kubeconfig = join(dir, 'config');
  writeFileSync(kubeconfig, cluster.kubeconfig(NS), { mode: 0o600 });
  return { cluster, kubeconfig };
}

/** A workspace whose `origin` is a bare repository the pod can clone. */
export interface WsOpts {
  backend?: 'claude' | 'codex' | 'openai' | 'passive';
  sandbox?: 'off';
  /** More agent frontmatter lines (under the kubernetes: block's level). */
  agent?: readonly string[];
  /** Agent frontmatter lines at the top level. */
  top?: readonly string[];
  image?: string;
  namespace?: string;
}

export function clonableWorkspace(opts: WsOpts = {}): TempWorkspace {
  const ws = tempWorkspace({ withExamples: true });
  ws.write(
    '.nexus/agents/kube.md',
    [
      '---',
      `backend: ${opts.backend ?? 'claude'}`,
      'model: test-model',
      'runtime: kubernetes',
      ...(opts.top ?? []),
      'limits:',
      '  max_attempts: 3',
      'kubernetes:',
      `  namespace: ${opts.namespace ?? NS}`,
      `  image: ${opts.image ?? 'nexus-runner:test'}`,
      ...(opts.sandbox ? ['sandbox:', `  mode: ${opts.sandbox}`] : []),
      ...(opts.agent ?? []),
      '---',
      'You are a test agent.',
    ].join('\n'),
  );
  ws.write('.gitignore', '.nexus/state/\nuser-config/\n');
  commitAll(ws, 'workspace');
  const bare = mkdtempSync(join(tmpdir(), 'nexus-origin-'));
  execFileSync('git', ['clone', '-q', '--bare', ws.dir, bare]);
  execFileSync('git', ['remote', 'add', 'origin', bare], { cwd: ws.dir });
  return ws;
}

/**
 * A clonable workspace whose agent may commit only with a person's approval, and an assignment
 * `commit` whose one task is verified by a commit named `first`.
 */
export function gatedCommitWorkspace(): TempWorkspace {
  const ws = clonableWorkspace({
    agent: ['permissions:', '  can_commit: true', '  requires_approval_for: [commit]'],
  });
  writeCommitAssignment(ws);
  commitAll(ws, 'assignment');
  return ws;
}

/** Commits everything in the workspace (and pushes it when it has an origin). */
export function commitAll(ws: TempWorkspace, message: string): void {
  const git = (...args: string[]): void => {
    execFileSync('git', args, { cwd: ws.dir, env: { ...process.env, ...GIT_ENV } });
  };
  try {
    execFileSync('git', ['rev-parse', '--git-dir'], { cwd: ws.dir, stdio: 'ignore' });
  } catch {
    git('init', '-q', '-b', 'main');
  }
  git('add', '-A');
  git('commit', '-q', '-m', message);
  const remotes = execFileSync('git', ['remote'], { cwd: ws.dir }).toString();
  if (remotes.includes('origin')) git('push', '-q', 'origin', 'HEAD:main');
}

export function nexusRun(
  k: KubeCluster,
  ws: TempWorkspace,
  env: Record<string, string>,
  assignment = 'hello-file',
) {
  return startCliJson<Manifest>(
    ws,
    ['run', '--agent', 'kube', '--assignment', assignment, '--json'],
    { ...env, ...GIT_ENV, KUBECONFIG: k.kubeconfig },
  );
}

export type RecordedEvent = { seq: number; type: string; data: Record<string, unknown> };

/** The run's event log, parsed. */
export function eventsOf(ws: TempWorkspace, id: string): RecordedEvent[] {
  return readFileSync(join(ws.stateDir, 'runs', id, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RecordedEvent);
}

/** Event seqs run 1..n: no gap (a report lost), no repeat (one applied twice). */
export function assertContiguous(events: Array<{ seq: number }>): void {
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => i + 1),
    'seq contiguous',
  );
}

/** The one run in a workspace's state, once it exists. */
export async function runIdOf(ws: TempWorkspace): Promise<string> {
  let id: string | undefined;
  await until(
    () => {
      const r = execFileSync(process.execPath, [CLI, 'list', 'runs', '--json'], {
        cwd: ws.dir,
        env: ws.env,
      });
      id = (JSON.parse(r.toString()) as Array<{ id: string }>)[0]?.id;
      return id !== undefined;
    },
    'the run to exist',
    60_000,
  );
  return id ?? '';
}

/**
 * The cluster's kubeconfig with a second context, `dead` (nothing listens at its server), made
 * the current one: what a run picked for context `fake` must not fall back to.
 */
export function twoContextKubeconfig(k: KubeCluster, namespace = NS): string {
  const text = k.cluster
    .kubeconfig(namespace)
    .replace(
      'clusters:\n',
      'clusters:\n  - name: dead\n    cluster:\n      server: http://127.0.0.1:9\n      insecure-skip-tls-verify: true\n',
    )
    .replace(
      'contexts:\n',
      'contexts:\n  - name: dead\n    context:\n      cluster: dead\n      user: fake\n',
    )
    .replace('current-context: fake', 'current-context: dead');
  const file = join(mkdtempSync(join(tmpdir(), 'nexus-kube-')), 'config');
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}
