/** Small helpers for benchmarks: medians, percentiles, timing a fresh process. */
import { spawnSync } from 'node:child_process';
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
