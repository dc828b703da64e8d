/**
 * Test helpers for driving a backend against a scripted server: temp dirs, an `AttemptInput`
 * builder that records events, and process checks for "nothing left running".
 */
import { NO_SANDBOX } from '../../src/adapters/sandbox/bubblewrap.ts';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendSettings, Permissions } from '../../src/core/domain/definitions.ts';
import type { GatedAction } from '../../src/core/domain/definitions.ts';
import type { AttemptInput, BackendEvent } from '../../src/core/ports.ts';

export interface Sandbox {
  root: string;
  cwd: string;
  runDir: string;
  /** A fresh dir for a CLI's config (CLAUDE_CONFIG_DIR, CODEX_HOME). */
  configDir: string;
  cleanup(): void;
}

export function sandbox(prefix: string): Sandbox {
  const root = mkdtempSync(join(tmpdir(), `nexus-${prefix}-`));
  const make = (name: string): string => {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  return {
    root,
    cwd: make('work'),
    runDir: make('run'),
    configDir: make('config'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export interface Recorded {
  input: AttemptInput;
  events: BackendEvent[];
  approvals: { action: GatedAction; detail: string }[];
  abort: AbortController;
}

/** Builds an attempt input; `approve` decides approval requests (default: approve all). */
export function attemptInput(
  box: Sandbox,
  overrides: Partial<Omit<AttemptInput, 'permissions' | 'settings'>> & {
    permissions?: Record<string, unknown>;
    settings?: Record<string, unknown>;
    approve?: (action: GatedAction, detail: string) => boolean;
  } = {},
): Recorded {
  const events: BackendEvent[] = [];
  const approvals: { action: GatedAction; detail: string }[] = [];
  const abort = new AbortController();
  const { permissions, settings, approve, ...rest } = overrides;
  const attempt = rest.attempt ?? 1;
  const input: AttemptInput = {
    runId: 'run-test',
    attempt,
    prompt: 'Create the file.',
    systemPrompt: 'You are a scripted test agent.',
    sessionId: undefined,
    cwd: box.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: box.root },
    model: undefined,
    tools: ['shell'],
    timeoutMs: 60_000,
    transcriptPath: join(box.runDir, `attempt-${attempt}.jsonl`),
    signal: abort.signal,
    onEvent: (e) => events.push(e),
    approvals: {
      request: async (action, detail) => {
        approvals.push({ action, detail });
        const approved = approve ? approve(action, detail) : true;
        return { approved, reason: approved ? undefined : 'denied by the test' };
      },
    },
    ...rest,
    sandbox: rest.sandbox ?? NO_SANDBOX,
    permissions: Permissions.parse(permissions ?? {}),
    settings: BackendSettings.parse(settings ?? {}),
  };
  return { input, events, approvals, abort };
}

/** Pids of live processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const state = readFileSync(`/proc/${name}/stat`, 'utf8');
      const zombie = state.slice(state.lastIndexOf(')') + 2).startsWith('Z');
      if (!zombie && cmd.includes(marker)) out.push(Number(name));
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}

/** Polls (no fixed sleeps in assertions) until `check` is true; throws after `limitMs`. */
export async function until(check: () => boolean, what: string, limitMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A unique `sleep` duration whose command line identifies this test's process. */
export function uniqueSleep(): string {
  return `30.${String(process.pid)}${String(Math.floor(Math.random() * 1e6))}`;
}
