/**
 * Runs shell commands (verify checks) with a timeout. In a sandbox (bubblewrap) every process
 * the check starts lives in the sandbox's PID namespace, so it all dies when the check ends or
 * times out — a detached helper cannot keep a check from returning. Without one, the process
 * group and its known descendants are killed once the shell exits.
 */
import { spawn } from 'node:child_process';
import type { CommandResult, CommandRunner, Sandbox } from '../../core/ports.ts';
import { descendants } from '../backends/process.ts';

const MAX_CAPTURE = 256 * 1024;
/** After the shell exits, how long output may still drain from a pipe left open, ms. */
const DRAIN_MS = 300;

export interface ShellCommandRunnerOptions {
  /** The sandbox for a check over `cwd` (undefined: run unconfined). */
  sandboxFor?: (cwd: string) => Sandbox | undefined;
}

export class ShellCommandRunner implements CommandRunner {
  readonly #sandboxFor: ShellCommandRunnerOptions['sandboxFor'];

  constructor(options: ShellCommandRunnerOptions = {}) {
    this.#sandboxFor = options.sandboxFor;
  }

  run(
    command: string,
    opts: { cwd: string; timeoutMs: number; env?: Record<string, string>; signal?: AbortSignal },
  ): Promise<CommandResult> {
    const started = performance.now();
    const sandbox = this.#sandboxFor?.(opts.cwd);
    const { bin, args } = sandbox
      ? sandbox.wrap('bash', ['-c', command])
      : { bin: 'bash', args: ['-c', command] };
    return new Promise((resolve) => {
      const child = spawn(bin, args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let output = '';
      const take = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if (output.length > MAX_CAPTURE) output = output.slice(-MAX_CAPTURE);
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      let timedOut = false;
      let done = false;
      const killAll = (): void => {
        const pid = child.pid;
        if (pid === undefined) return;
        const known = descendants(pid);
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
        for (const d of known) {
          try {
            process.kill(d, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killAll();
      }, opts.timeoutMs);
      const onAbort = (): void => killAll();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (exitCode: number | null): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({
          exitCode,
          timedOut,
          output: output.trim(),
          durationMs: performance.now() - started,
        });
      };
      child.on('error', (err) => {
        output += `\n${err.message}`;
        finish(null);
      });
      // The check's verdict is its shell's exit; whatever it left behind goes with it, and a
      // pipe held open by a stray helper does not keep the verdict waiting.
      child.on('exit', (code) => {
        killAll();
        const drained = setTimeout(() => finish(code), DRAIN_MS);
        child.on('close', () => {
          clearTimeout(drained);
          finish(code);
        });
      });
    });
  }
}
