/**
 * What every command gets: the API (an embedded core, or the bridge when a core is running),
 * output helpers and the resolved workspace. The core is built on first use, so `--help` and
 * argument errors cost nothing.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NexusApi } from '../core/api.ts';
import { findWorkspace, stateDirFor } from '../adapters/paths.ts';
import type { EmbeddedCore } from '../adapters/embedded.ts';
import type { BridgeClient } from '../adapters/bridge/client.ts';
import type { TaskApi } from '../adapters/embedded-tasks.ts';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Bytes to stdout as they are (a patch need not be UTF-8); absent: written as text. */
  raw?(bytes: Uint8Array): void;
}

export class CliContext {
  readonly io: CliIO;
  readonly env: NodeJS.ProcessEnv;
  readonly json: boolean;
  readonly workspace: string;
  readonly stateDir: string;
  private api: Promise<NexusApi> | undefined;
  /** `tasks()` opened the API: in embedded mode only the task calls are there. */
  private tasksOnly = false;
  private closers: Array<() => Promise<void>> = [];

  constructor(opts: {
    io: CliIO;
    env: NodeJS.ProcessEnv;
    cwd: string;
    json: boolean;
    workspace?: string | undefined;
    stateDir?: string | undefined;
  }) {
    this.io = opts.io;
    this.env = opts.env;
    this.json = opts.json;
    this.workspace = opts.workspace ? resolve(opts.workspace) : findWorkspace(opts.cwd, opts.env);
    this.stateDir = opts.stateDir ? resolve(opts.stateDir) : stateDirFor(this.workspace, opts.env);
  }

  /** The run the agent is working on, when called from inside a run. */
  get currentRun(): string | undefined {
    return this.env.NEXUS_RUN_ID || undefined;
  }

  /** Who is acting: inside a run's backend process, the agent. */
  get actor(): string {
    return this.env.NEXUS_RUN_ID ? 'agent' : 'user';
  }

  core(): Promise<NexusApi> {
    if (this.tasksOnly) throw new Error('internal: core() after tasks() in one command');
    this.api ??= this.openCore();
    return this.api;
  }

  /**
   * The task calls and reading runs only (`nexus task …`, `nexus list runs`): the serving
   * core's, or in embedded mode the run store and checklist writer alone (embedded-tasks.ts),
   * without building the rest of core.
   */
  tasks(): Promise<TaskApi> {
    if (!this.api) {
      this.tasksOnly = true;
      this.api = this.openCore(true);
    }
    return this.api;
  }

  /**
   * Inside a run, a call whose answer was lost because core stopped mid-call (a restart) is
   * made again once core is back — for calls whose repeat changes nothing that matters
   * (setting a task's status; a note given with it may then be recorded twice), never for
   * ones that would add twice. Losing an agent's completed is worse than a repeated note.
   * Elsewhere the error stands.
   */
  async idempotent<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      const api = (await this.api) as Partial<{ whenConnected(): Promise<void> }> | undefined;
      const lost = (err as { code?: string }).code === 'BRIDGE_UNAVAILABLE';
      if (!lost || !this.currentRun || typeof api?.whenConnected !== 'function') throw err;
      const patienceMs = Number(this.env.NEXUS_CONNECT_WAIT_MS ?? 30_000);
      let timer: NodeJS.Timeout | undefined;
      const back = await Promise.race([
        api.whenConnected().then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), patienceMs))),
      ]).catch(() => false);
      clearTimeout(timer);
      if (!back) throw err;
      return call();
    }
  }

  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.closers.reverse()) await fn().catch(() => undefined);
  }

  print(human: string, json: unknown): void {
    this.io.out(this.json ? JSON.stringify(json, null, 2) : human);
  }

  /** `connected` when a running core (daemon, editor, `nexus run`) serves the state. */
  mode: 'embedded' | 'connected' | undefined;
  private embedded: EmbeddedCore | undefined;

  /** The embedded core (only in embedded mode): for launching runners from this process. */
  async embeddedCore(): Promise<EmbeddedCore | undefined> {
    await this.core();
    return this.embedded;
  }

  /**
   * Inside a run (an agent's tool call), core may be restarting: wait for it rather than fail
   * the agent's command. Elsewhere, fail fast.
   */
  private async connectPatiently(
    Client: typeof BridgeClient,
    found: { url: string; token: string },
  ): Promise<BridgeClient> {
    const patienceMs = this.currentRun ? Number(this.env.NEXUS_CONNECT_WAIT_MS ?? 30_000) : 0;
    const deadline = Date.now() + patienceMs;
    for (;;) {
      try {
        return await Client.connect(found.url, found.token, { clientName: 'nexus-cli' });
      } catch (err) {
        const retry =
          (err as { code?: string }).code === 'BRIDGE_UNAVAILABLE' && Date.now() < deadline;
        if (!retry) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private async openCore(tasksOnly = false): Promise<NexusApi> {
    // Most calls find no core serving: skip loading the bridge code unless one might be.
    const maybeServed =
      Boolean(this.env.NEXUS_CONNECT) || existsSync(join(this.stateDir, 'core.json'));
    const found = maybeServed
      ? await (
          await import('../adapters/bridge/discovery.ts')
        ).discoverCore(this.stateDir, this.env)
      : undefined;
    if (found && tasksOnly) {
      // One call and exit: a POST per call, no WebSocket session (bridge/one-shot.ts).
      const { oneShotTasks } = await import('../adapters/bridge/one-shot.ts');
      this.mode = 'connected';
      const patienceMs = this.currentRun ? Number(this.env.NEXUS_CONNECT_WAIT_MS ?? 30_000) : 0;
      return oneShotTasks(found.url, found.token, {
        patienceMs,
        fallback: async () => {
          const bridge = await import('../adapters/bridge/client.ts');
          const client = await this.connectPatiently(bridge.BridgeClient, found);
          this.onClose(async () => client.close());
          return client;
        },
      }) as unknown as NexusApi;
    }
    if (found) {
      const bridge = await import('../adapters/bridge/client.ts');
      const client = await this.connectPatiently(bridge.BridgeClient, found);
      this.mode = 'connected';
      this.onClose(async () => client.close());
      return client;
    }
    this.mode = 'embedded';
    const lockWait = this.env.NEXUS_LOCK_WAIT_MS
      ? { lockWaitMs: Number(this.env.NEXUS_LOCK_WAIT_MS) }
      : {};
    if (tasksOnly) {
      const { openEmbeddedTasks } = await import('../adapters/embedded-tasks.ts');
      const tasks = openEmbeddedTasks({ stateDir: this.stateDir, ...lockWait });
      this.onClose(tasks.close);
      // Only the task calls are there: `tasks()` hands it out typed as TaskApi.
      return tasks.api as NexusApi;
    }
    const { openEmbeddedCore } = await import('../adapters/embedded.ts');
    const { defaultUserConfigDir } = await import('../adapters/definitions/user-dir.ts');
    const core = await openEmbeddedCore({
      workspace: this.workspace,
      stateDir: this.stateDir,
      userConfigDir: defaultUserConfigDir(this.env),
      ...lockWait,
    });
    this.embedded = core;
    this.onClose(() => core.close());
    return core.service;
  }
}
