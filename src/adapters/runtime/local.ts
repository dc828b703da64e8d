/**
 * The local runtime: one `nexus-runner` child process per run, in its own process group, with
 * the payload in a file only the user can read. Cancel sends SIGINT to the group, then SIGKILL
 * after a grace period; the agent's sandbox (a PID namespace that dies with the runner) takes
 * whatever the agent started with it. Process groups, pids and `/proc` live here and only here.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AgentRuntime, RunnerRef } from '../../core/ports.ts';
import type { RunConfigPayload } from '../../protocol/payload.ts';
import { runnerEntry } from './runner-entry.ts';
import { isPidAlive as pidAlive } from '../pid.ts';

export interface LocalRuntimeOptions {
  /** The run's directory in the state dir (payload, runner log, outbox, transcripts). */
  runDir: (runId: string) => string;
  /** SIGINT → SIGKILL grace, ms. */
  graceMs?: number;
  /** Runner processes outlive this process (background runs). */
  detach?: boolean;
}

export class LocalRuntime implements AgentRuntime {
  readonly kind = 'local' as const;
  readonly #opts: LocalRuntimeOptions;
  readonly #children = new Map<string, { child: ChildProcess; exited: Promise<number | null> }>();

  constructor(opts: LocalRuntimeOptions) {
    this.#opts = opts;
  }

  async start(
    payload: RunConfigPayload,
    opts: {
      env: Record<string, string>;
      onExit?: (code: number | null, signal: string | null) => void;
    },
  ): Promise<RunnerRef> {
    const runId = payload.run_id;
    const dir = this.#opts.runDir(runId);
    await mkdir(join(dir, 'runner'), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, 'attempts'), { recursive: true, mode: 0o700 });
    // A run that clones starts from an empty folder (the runner clones into it).
    await mkdir(payload.workspace.cwd, { recursive: true });
    const payloadPath = join(dir, 'runner', 'payload.json');
    await writeFile(payloadPath, JSON.stringify(payload), { mode: 0o600 });
    const logFile = await open(join(dir, 'runner', 'runner.log'), 'a', 0o600);
    const env = {
      ...process.env,
      ...opts.env,
      // Inside a desktop VS Code, process.execPath is Electron: make it behave as plain Node.
      ELECTRON_RUN_AS_NODE: '1',
      NEXUS_RUNNER_DIR: join(dir, 'runner'),
      NEXUS_ATTEMPTS_DIR: join(dir, 'attempts'),
    };
    const child = spawn(process.execPath, [runnerEntry(env), '--payload', payloadPath], {
      cwd: payload.workspace.cwd,
      env,
      stdio: ['ignore', logFile.fd, logFile.fd],
      detached: true,
    });
    await logFile.close();
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code, signal) => {
        this.#children.delete(runId);
        opts.onExit?.(code, signal);
        resolve(
          code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGINT' ? 2 : 15) : null),
        );
      });
      child.on('error', () => resolve(null));
    });
    if (this.#opts.detach) child.unref();
    this.#children.set(runId, { child, exited });
    return { pid: child.pid ?? 0, host: hostname() };
  }

  /** Resolves with the runner's exit code once it ends (runners this process started). */
  wait(runId: string): Promise<number | null> {
    return this.#children.get(runId)?.exited ?? Promise.resolve(null);
  }

  async cancel(runId: string, runner?: RunnerRef): Promise<void> {
    const grace = this.#opts.graceMs ?? 5000;
    const entry = this.#children.get(runId);
    if (entry?.child.pid) {
      await killGroup(entry.child.pid, entry.exited, grace);
      return;
    }
    if (runner && runner.host === hostname() && (await this.alive(runner)))
      await killGroup(runner.pid, untilDead(runner.pid), grace);
  }

  /** A pid on this host that is alive and still a nexus runner (pids are reused). */
  async alive(runner: RunnerRef): Promise<boolean> {
    if (runner.host !== hostname() || !pidAlive(runner.pid)) return false;
    try {
      const cmd = await readFile(`/proc/${runner.pid}/cmdline`, 'utf8');
      return /runner/.test(cmd);
    } catch {
      return true;
    }
  }

  async logs(runId: string, from = 0): Promise<{ text: string; next: number }> {
    let body: Buffer;
    try {
      body = await readFile(join(this.#opts.runDir(runId), 'runner', 'runner.log'));
    } catch {
      return { text: '', next: from };
    }
    return { text: body.subarray(from).toString('utf8'), next: body.length };
  }
}

/** SIGINT to the process group; SIGKILL to whatever is left after the grace period. */
export async function killGroup(
  pid: number,
  exited: Promise<unknown>,
  graceMs: number,
): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // The group is gone.
    }
  };
  signal('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
  signal('SIGKILL');
}

/** Resolves when a process that is not our child has exited. */
async function untilDead(pid: number): Promise<void> {
  while (pidAlive(pid)) await new Promise((r) => setTimeout(r, 50));
}
