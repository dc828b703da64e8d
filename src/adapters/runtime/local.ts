/**
 * The local runtime: one `nexus-runner` child process per run, in its own process group, with
 * the payload in a file only the user can read. Cancel sends SIGINT to the group, then SIGKILL
 * after a grace period, so nothing the agent started is left running.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunLauncher } from '../../core/ports.ts';
import type { RunConfigPayload } from '../../protocol/payload.ts';
import { runnerEntry } from './runner-entry.ts';
import { isPidAlive as pidAlive } from '../pid.ts';

export interface LocalLauncherOptions {
  /** The run's directory in the state dir (payload, runner log, outbox, transcripts). */
  runDir: (runId: string) => string;
  /** Env for the runner: how it reaches core (embedded state dir, or bridge URL + runner token). */
  runnerEnv: (
    runId: string,
    payload: RunConfigPayload,
  ) => Promise<Record<string, string>> | Record<string, string>;
  /** SIGINT → SIGKILL grace, ms. */
  graceMs?: number;
  /** Called when a runner process exits. */
  onExit?: (runId: string, code: number | null, signal: NodeJS.Signals | null) => void;
  /** Runner processes outlive this process (background runs). */
  detach?: boolean;
  /** The runner pid of a run this launcher did not start (reattached, or from another process). */
  pidOf?: (runId: string) => Promise<number | undefined>;
}

export class LocalLauncher implements RunLauncher {
  private readonly opts: LocalLauncherOptions;
  private readonly children = new Map<
    string,
    { child: ChildProcess; exited: Promise<number | null> }
  >();

  constructor(opts: LocalLauncherOptions) {
    this.opts = opts;
  }

  async launch(runId: string, payload: RunConfigPayload): Promise<void> {
    const dir = this.opts.runDir(runId);
    await mkdir(join(dir, 'runner'), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, 'attempts'), { recursive: true, mode: 0o700 });
    // A run that clones starts from an empty folder (the runner clones into it).
    await mkdir(payload.workspace.cwd, { recursive: true });
    const payloadPath = join(dir, 'runner', 'payload.json');
    await writeFile(payloadPath, JSON.stringify(payload), { mode: 0o600 });
    const logFile = await open(join(dir, 'runner', 'runner.log'), 'a', 0o600);
    const env = {
      ...process.env,
      ...(await this.opts.runnerEnv(runId, payload)),
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
        this.children.delete(runId);
        this.opts.onExit?.(runId, code, signal);
        resolve(
          code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGINT' ? 2 : 15) : null),
        );
      });
      child.on('error', () => resolve(null));
    });
    if (this.opts.detach) child.unref();
    this.children.set(runId, { child, exited });
  }

  pid(runId: string): number | undefined {
    return this.children.get(runId)?.child.pid;
  }

  /** Resolves with the runner's exit code once it ends. */
  wait(runId: string): Promise<number | null> {
    return this.children.get(runId)?.exited ?? Promise.resolve(null);
  }

  async cancel(runId: string): Promise<void> {
    const entry = this.children.get(runId);
    if (entry?.child.pid) {
      await killGroup(entry.child.pid, entry.exited, this.opts.graceMs ?? 5000);
      return;
    }
    const pid = await this.opts.pidOf?.(runId);
    if (pid !== undefined && pidAlive(pid))
      await killGroup(pid, untilDead(pid), this.opts.graceMs ?? 5000);
  }

  async cancelAll(): Promise<void> {
    await Promise.all([...this.children.keys()].map((id) => this.cancel(id)));
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
