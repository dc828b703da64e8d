/** Runs shell commands (verify checks) with a timeout; the whole process group dies on timeout. */
import { spawn } from 'node:child_process';
import type { CommandResult, CommandRunner } from '../../core/ports.ts';

const MAX_CAPTURE = 256 * 1024;

export class ShellCommandRunner implements CommandRunner {
  run(
    command: string,
    opts: { cwd: string; timeoutMs: number; env?: Record<string, string>; signal?: AbortSignal },
  ): Promise<CommandResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      const child = spawn('bash', ['-c', command], {
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
      const killGroup = (): void => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup();
      }, opts.timeoutMs);
      const onAbort = (): void => killGroup();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (exitCode: number | null): void => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
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
      child.on('close', (code) => finish(code));
    });
  }
}
