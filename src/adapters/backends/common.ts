/** Small helpers shared by the backends. */
import { dirname, join } from 'node:path';
import type { AttemptInput, AttemptResult, BackendFailure } from '../../core/ports.ts';
import type { Usage } from '../../core/domain/run.ts';
import type { ProcessOutcome } from './process.ts';

/** Options every backend accepts from its composition point. */
export interface BackendOptions {
  /** Time between SIGINT and SIGKILL when an attempt is cancelled or times out. */
  killGraceMs?: number;
}

/**
 * The executable: `settings.bin`, else the env override (`NEXUS_CLAUDE_BIN`, …) from the
 * attempt's env or this process's, else the plain name resolved on the attempt's PATH.
 */
export function resolveBin(input: AttemptInput, envVar: string, fallback: string): string {
  return input.settings.bin ?? input.env[envVar] ?? process.env[envVar] ?? fallback;
}

/** The attempt's env with the agent's `backend_settings.env` layered on top. */
export function attemptEnv(input: AttemptInput): Record<string, string> {
  return { ...input.env, ...input.settings.env };
}

/** A file next to the attempt's transcript (shared by all attempts of the run). */
export function sidecarPath(input: AttemptInput, name: string): string {
  return join(dirname(input.transcriptPath), name);
}

export function failed(
  failure: BackendFailure,
  partial: Partial<Omit<AttemptResult, 'ok' | 'failure'>> = {},
): AttemptResult {
  return {
    ok: false,
    sessionId: partial.sessionId,
    usage: partial.usage,
    finalText: partial.finalText,
    failure,
  };
}

/** The failure for a process that was cancelled, timed out or could not start; else undefined. */
export function processFailure(
  outcome: ProcessOutcome,
  input: AttemptInput,
  bin: string,
): BackendFailure | undefined {
  if (outcome.cancelled) return { kind: 'cancelled', message: 'the attempt was cancelled' };
  if (outcome.timedOut) {
    return { kind: 'timeout', message: `the attempt exceeded its ${input.timeoutMs} ms limit` };
  }
  if (outcome.spawnError !== undefined) {
    return { kind: 'fatal', message: `cannot start '${bin}': ${outcome.spawnError}` };
  }
  return undefined;
}

export function emptyUsage(): Usage {
  return { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0 };
}

/** Safe JSON line parse: a non-JSON line (a warning on stdout) is skipped, not fatal. */
export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
export const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
