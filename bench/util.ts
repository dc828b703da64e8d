/** Small helpers for benchmarks: medians, percentiles, timing a fresh process. */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { AgentDefinition, AssignmentDefinition } from '../src/core/domain/definitions.ts';
import type { RunManifest } from '../src/core/domain/run.ts';
import { randomId } from '../src/core/ids.ts';
import { newManifest } from '../src/core/run-factory.ts';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

/** Wall time of one process run, ms. */
export function timeProcess(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const t = performance.now() - t0;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString()}`);
  return t;
}

/**
 * Peak resident memory of one process run, KiB: the process is started through `/usr/bin/time`
 * when present (GNU time's `%M`), undefined otherwise.
 */
export function peakRssKiB(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): number | undefined {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.error || r.status !== 0) return undefined;
  const last = r.stderr.toString().trim().split('\n').pop() ?? '';
  return /^\d+$/.test(last) ? Number(last) : undefined;
}

/**
 * A throwaway workspace with the examples' definitions, the environment a `nexus` call gets in
 * it (no user config, not inside a run, not told to connect) and its first run's id.
 */
export function benchWorkspace(repo: string): { ws: string; env: NodeJS.ProcessEnv; id: string } {
  const ws = mkdtempSync(join(tmpdir(), 'nexus-bench-'));
  cpSync(join(repo, 'examples', 'workspace', '.nexus'), join(ws, '.nexus'), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NEXUS_WORKSPACE: ws,
    NEXUS_CONFIG_DIR: join(ws, 'none'),
  };
  delete env.NEXUS_RUN_ID;
  delete env.NEXUS_CONNECT;
  const agent = ['--agent', 'manual', '--assignment', 'hello-file'];
  const init = spawnSync(
    process.execPath,
    [join(repo, 'dist', 'cli.cjs'), 'init', '--json', ...agent],
    {
      cwd: ws,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  if (init.status !== 0) throw new Error(`nexus init exited ${init.status}`);
  return { ws, env, id: (JSON.parse(init.stdout.toString()) as { id: string }).id };
}

/** `nexus serve` over the state `env` names, once it says it serves the bridge. */
export async function startServe(
  cli: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<ChildProcess> {
  const daemon = spawn(process.execPath, [cli, 'serve'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  daemon.stdout.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 200 && !out.includes('bridge'); i++)
    await new Promise((r) => setTimeout(r, 50));
  return daemon;
}

export function line(name: string, value: string, note = ''): void {
  process.stdout.write(`${name.padEnd(58)} ${value.padStart(14)}  ${note}\n`);
}

export const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
export const ratio = (x: number): string => `${x.toFixed(2)}x`;

/** A run's manifest for benchmarks, built the way core builds one (no definitions files). */
export function benchManifest(opts: {
  agent: AgentDefinition;
  assignment?: AssignmentDefinition;
  cwd: string;
  message?: string;
  now?: Date;
}): RunManifest {
  return newManifest({
    id: randomId(),
    agent: opts.agent,
    assignment: opts.assignment,
    message: opts.message ?? 'bench',
    vars: {},
    kind: 'bg',
    runtime: 'local',
    cwd: opts.cwd,
    repo: undefined,
    now: (opts.now ?? new Date()).toISOString(),
  });
}
