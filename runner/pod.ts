/**
 * The runner in a Kubernetes pod. Nothing in the cluster connects to the person's machine:
 *
 * - `--stage SRC DST` (the init container) copies the Job's Secret files into memory-backed
 *   storage that only the runner's container mounts, so the runner can delete them once read:
 *   the report key then lives in the runner's memory alone.
 * - `--pod` (the runner container) keeps the run's state in memory, in a core of its own, and
 *   reports every change on its stdout as signed lines (`report-line.ts`) that core reads from
 *   the pod log: the runner's own reports, and what the agent did through its bridge
 *   (`agent.call`: its checklist calls and memory proposals), each numbered by the outbox so
 *   core applies it once.
 * - What core sends in (approval decisions, the messages queued for the agent, the attachments)
 *   arrives as files in the per-run inbox ConfigMap, mounted read-only; the runner polls it, and
 *   reads it again at each attempt boundary, where a waiting message is carried (`pod-inbox.ts`)
 *   and the attachments are handed to the workspace (`pod-attachments.ts`).
 * - Unless core serves a bridge the pod can reach: then the Secret names it, with the run's
 *   tokens, and the runner reports over it as a local runner does (`pod-bridge.ts`).
 */
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  NexusApi,
  RunnerApi,
  TaskAddRequest,
  TaskSetRequest,
  UnnumberedRunnerReport,
} from '../src/core/api.ts';
import type { RunManifest } from '../src/core/domain/run.ts';
import { RunManifest as RunManifestSchema } from '../src/core/domain/run.ts';
import { NexusError } from '../src/core/errors.ts';
import type { MemoryEntry } from '../src/core/domain/memory.ts';
import { entryScope } from '../src/core/memory/checks.ts';
import type { MemoryProposeRequest } from '../src/core/memory/requests.ts';
import { randomId } from '../src/core/ids.ts';
import { EventHub } from '../src/core/hub.ts';
import { CoreService, type DefinitionSource } from '../src/core/service.ts';
import { systemClock } from '../src/adapters/clock.ts';
import { NEXUS_VERSION } from '../src/adapters/embedded.ts';
import { MemoryRunStore } from '../src/adapters/store/memory-store.ts';
import { signReportLine } from '../src/adapters/runtime/kubernetes/report-line.ts';
import { POD_BRIDGE_FILE, PodBridge } from '../src/adapters/runtime/kubernetes/pod-bridge.ts';
import type { CoreConnection } from './connect.ts';
import { watchInbox } from './pod-inbox.ts';
import { podAttachments } from './pod-attachments.ts';

/** The Secret's files, as core writes them (`src/adapters/runtime/kubernetes/runtime.ts`). */
export const POD_FILES = {
  payload: 'payload.json',
  manifest: 'manifest.json',
  reportKey: 'report-key',
  env: 'env.json',
  /** Only when core serves a bridge for pods (decision 30). */
  bridge: POD_BRIDGE_FILE,
} as const;

/** The init container: every file of `src` into `dst` (0600), nothing else. */
export async function stageSecrets(src: string, dst: string): Promise<void> {
  await mkdir(dst, { recursive: true, mode: 0o700 });
  for (const name of await readdir(src)) {
    // The kubelet's atomic-writer layout: `..data` and timestamped dirs beside symlinks.
    if (name.startsWith('..')) continue;
    const from = join(src, name);
    if (!(await stat(from)).isFile()) continue;
    await copyFile(from, join(dst, name));
  }
}

export interface PodKeys {
  payloadText: string;
  manifest: RunManifest;
  reportKey: Buffer;
  /** Provider credentials and endpoints for the backend, from the Secret. */
  env: Record<string, string>;
  /** Core's bridge and this run's credentials for it, when core serves one for pods. */
  bridge?: PodBridge | undefined;
}

/** Reads what the init container staged, then deletes it: afterwards only memory holds it. */
export async function takePodKeys(dir: string): Promise<PodKeys> {
  const read = async (name: string): Promise<string> => {
    try {
      return await readFile(join(dir, name), 'utf8');
    } catch (err) {
      throw new NexusError(
        'PAYLOAD_INVALID',
        `the pod has no ${name} in ${dir} (did the stage init container run?): ${(err as Error).message}`,
      );
    }
  };
  const payloadText = await read(POD_FILES.payload);
  const manifestText = await read(POD_FILES.manifest);
  const reportKey = Buffer.from((await read(POD_FILES.reportKey)).trim(), 'base64url');
  const envText = await read(POD_FILES.env).catch(() => '{}');
  const bridgeText = await read(POD_FILES.bridge).catch(() => undefined);
  for (const name of Object.values(POD_FILES)) await rm(join(dir, name), { force: true });
  if (reportKey.length < 32)
    throw new NexusError('PAYLOAD_INVALID', 'the report key is missing or shorter than 32 bytes');
  const manifest = RunManifestSchema.safeParse(JSON.parse(manifestText));
  if (!manifest.success)
    throw new NexusError('PAYLOAD_INVALID', `${POD_FILES.manifest} is not a run manifest`);
  const env = JSON.parse(envText) as Record<string, unknown>;
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') strings[k] = v;
  const bridge = bridgeText === undefined ? undefined : PodBridge.safeParse(JSON.parse(bridgeText));
  if (bridge && !bridge.success)
    throw new NexusError('PAYLOAD_INVALID', `${POD_FILES.bridge} is not a bridge address`);
  return { payloadText, manifest: manifest.data, reportKey, env: strings, bridge: bridge?.data };
}

/** Where reports go once numbered: the runner's outbox (set once the loop's state exists). */
export type Reporter = (report: UnnumberedRunnerReport) => Promise<void>;

export interface PodConnection extends CoreConnection {
  /** Hands the connection the runner's numbered reporter, for what the agent does. */
  setReporter(reporter: Reporter): void;
}

const AGENT_MUTATIONS = new Set(['setTask', 'appendNotes', 'addTask']);

export async function connectPodCore(
  keys: PodKeys,
  opts: { tmpDir: string; inboxDir: string | undefined; log: (line: string) => void },
): Promise<PodConnection> {
  const hub = new EventHub();
  const store = new MemoryRunStore(join(opts.tmpDir, 'nexus-pod-runs'), systemClock, (events) =>
    hub.publish(events),
  );
  const service = new CoreService({
    store,
    definitions: {
      list: () => Promise.resolve([]),
      get: noDefinitions,
    },
    clock: systemClock,
    hub,
    commands: {
      run: () => Promise.reject(new NexusError('USAGE', 'core runs no checks inside a pod')),
    },
    workspace: keys.manifest.workspace.cwd,
    version: NEXUS_VERSION,
  });
  await store.createRun(keys.manifest, []);
  const runId = keys.manifest.id;
  let reporter: Reporter | undefined;
  const pending: UnnumberedRunnerReport[] = [];
  const send = async (r: UnnumberedRunnerReport): Promise<void> => {
    if (reporter) await reporter(r);
    else pending.push(r);
  };
  let lastEmitted = keys.manifest.applied_op;
  const write = (json: string): void => {
    process.stdout.write(`${signReportLine(keys.reportKey, json)}\n`);
  };

  // An approval the runner (or its agent) asks for is core's to show and a person's to decide.
  const offHub = hub.on((e) => {
    if (e.type === 'nexus.approval.requested') {
      void store.readRun(runId).then((m) => {
        const a = m.approvals.find((x) => x.id === e.data.approval);
        if (a) void send({ type: 'approval.requested', approval: a });
      });
    } else if (e.type === 'nexus.approval.decided' && e.data.status === 'expired') {
      void send({ type: 'approval.settled', id: e.data.approval, status: 'expired' });
    }
  });
  const inbox = opts.inboxDir
    ? watchInbox(opts.inboxDir, { service, store, runId, log: opts.log })
    : undefined;
  await inbox?.read();

  const runnerApi: RunnerApi = {
    // The loop reads the run at each attempt boundary: the inbox is read first, so a message
    // queued (or removed) by then is carried (or not) by the attempt about to start.
    getRun: async (id) => {
      await inbox?.read();
      return service.getRun(id);
    },
    requestApproval: (id, req, signal) => service.requestApproval(id, req, signal),
    async report(id, reports) {
      const applied = await service.report(id, reports);
      // Each report once on stdout (a re-flush after a lost ack sends ops already written).
      for (const r of reports) {
        if (r.op <= lastEmitted) continue;
        write(JSON.stringify(r));
        lastEmitted = r.op;
      }
      return applied;
    },
  };
  // The agent's calls: applied here, then reported so core records the same change. A memory
  // proposal has no store here: it is reported with the id the agent is told, and core files it.
  const mayPropose = (JSON.parse(keys.payloadText) as { tools?: unknown }).tools;
  const proposeMemory = proposer(
    keys.manifest,
    Array.isArray(mayPropose) && mayPropose.includes('memory'),
    send,
  );
  const agentApi = new Proxy(service, {
    get(target, prop, receiver) {
      if (prop === 'proposeMemory') return proposeMemory;
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string' || !AGENT_MUTATIONS.has(prop))
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      return async (...args: unknown[]) => {
        const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(
          target,
          args,
        );
        await send(agentCallReport(prop, args));
        return result;
      };
    },
  }) as NexusApi & RunnerApi;

  let bridge: { close(): Promise<void> } | undefined;
  return {
    api: runnerApi,
    attachments: opts.inboxDir ? podAttachments(opts.inboxDir, opts.log) : undefined,
    mode: 'embedded',
    stateDir: undefined,
    userConfigDir: join(opts.tmpDir, 'nexus-config'),
    setReporter(r) {
      reporter = r;
      for (const p of pending.splice(0)) void r(p);
    },
    async agentEnv() {
      const { AgentOnlyAuthority } = await import('../src/adapters/bridge/auth.ts');
      const { BridgeServer } = await import('../src/adapters/bridge/server.ts');
      const auth = new AgentOnlyAuthority(runId);
      const server = new BridgeServer({
        api: agentApi,
        runner: agentApi,
        auth,
        version: NEXUS_VERSION,
        log: opts.log,
        onRefused: (role, method) => void service.recordRefusal(role, method),
      });
      const url = await server.listen();
      bridge = server;
      return { NEXUS_CONNECT: url, NEXUS_TOKEN: auth.token };
    },
    async close() {
      offHub();
      inbox?.stop();
      await bridge?.close();
    },
  };
}

/**
 * The pod's `memory.propose`: checked as core will check it (the policy, the scope), answered
 * with the pending entry core files from the report, under the same id.
 */
function proposer(
  m: RunManifest,
  allowed: boolean,
  send: (r: UnnumberedRunnerReport) => Promise<void>,
): (req: MemoryProposeRequest) => Promise<MemoryEntry> {
  return async (req) => {
    if (!allowed)
      throw new NexusError(
        'MEMORY_FORBIDDEN',
        `agent ${m.agent.name} may not propose memory: its policy has memory.may_propose: false`,
      );
    if (req.run !== undefined && req.run !== m.id)
      throw new NexusError('MEMORY_FORBIDDEN', 'an agent proposes memory from its own run only');
    const scope = entryScope(req.scope ?? 'project', m.agent.name, true);
    const text = req.text.trim();
    if (!text) throw new NexusError('USAGE', 'a memory needs text');
    const id = randomId(10);
    await send({
      type: 'agent.call',
      method: 'memory.propose',
      params: { run: m.id, id, text, scope, ...(req.tags?.length ? { tags: req.tags } : {}) },
    });
    const now = new Date().toISOString();
    return {
      id,
      text,
      scope,
      tags: req.tags ?? [],
      status: 'pending',
      source: { kind: 'run', run: m.id, agent: m.agent.name },
      created_at: now,
      updated_at: now,
      use_count: 0,
    };
  };
}

/** A pod has no definitions: the payload carries what the run needs. */
const noDefinitions = (() =>
  Promise.reject(
    new NexusError('USAGE', 'definitions are not available inside a pod'),
  )) as unknown as DefinitionSource['get'];

/** The report of an agent's call, with the params core's bridge method takes. */
function agentCallReport(fn: string, args: unknown[]): UnnumberedRunnerReport {
  const withoutBy = <T extends { by?: string | undefined }>(p: T): Omit<T, 'by'> => {
    const { by: _by, ...rest } = p;
    return rest;
  };
  switch (fn) {
    case 'setTask':
      return {
        type: 'agent.call',
        method: 'tasks.set',
        params: withoutBy(args[0] as TaskSetRequest),
      };
    case 'addTask':
      return {
        type: 'agent.call',
        method: 'tasks.add',
        params: withoutBy(args[0] as TaskAddRequest),
      };
    default:
      return {
        type: 'agent.call',
        method: 'tasks.notes',
        params: { run: args[0] as string, task: args[1] as string, text: args[2] as string },
      };
  }
}
