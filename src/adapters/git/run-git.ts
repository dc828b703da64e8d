/**
 * Git as the runner runs it in the agent's workspace: the agent could have written the
 * repository's config, so what would run a program of its choosing on the runner's side (an
 * fsmonitor, hooks, external diff and textconv drivers) is switched off on every call.
 */
import { spawn } from 'node:child_process';

const HARDENED = [
  '-c',
  'core.fsmonitor=false',
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'diff.external=',
  '-c',
  'core.pager=cat',
];

export interface GitResult {
  code: number | null;
  /** The signal that ended git, when one did. */
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** All of stdout's size, also past `maxBytes`. */
  bytes: number;
}

export interface GitOptions {
  env?: Record<string, string | undefined>;
  /** Keep at most this much of stdout (the rest is counted, not kept). */
  maxBytes?: number;
  timeoutMs?: number;
}

export function git(cwd: string, args: string[], opts: GitOptions = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...HARDENED, ...args], {
      cwd,
      env: { ...process.env, ...opts.env, GIT_TERMINAL_PROMPT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let kept = 0;
    let bytes = 0;
    let stderr = '';
    const max = opts.maxBytes ?? Infinity;
    child.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
      if (kept < max) {
        const part = d.subarray(0, Math.min(d.length, max - kept));
        chunks.push(part);
        kept += part.length;
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(chunks), stderr, bytes });
    });
  });
}

/** Runs git and returns its stdout as text; a non-zero exit throws with git's own words. */
export async function gitText(cwd: string, args: string[], opts: GitOptions = {}): Promise<string> {
  const r = await git(cwd, args, opts);
  if (r.code !== 0)
    throw new Error(
      `git ${args[0] ?? ''} failed: ${r.signal ? `stopped by ${r.signal}` : (r.stderr.trim().split('\n')[0] ?? `exit ${r.code}`)}`,
    );
  return r.stdout.toString('utf8');
}
