/** Starting and stopping a real `nexus serve` for tests, and scripted agents to run under it. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CLI, REPO, nexus } from './workspace.ts';
import type { TempWorkspace } from './workspace.ts';

export const SCRIPTED_BACKEND = join(REPO, 'test', 'fakes', 'scripted-backend.ts');

/** Env that makes runners use the scripted backend with `script.json` of the workspace. */
export const scriptedEnv = (ws: TempWorkspace): Record<string, string> => ({
  NEXUS_TEST_BACKEND: SCRIPTED_BACKEND,
  NEXUS_SCRIPT_FILE: join(ws.dir, 'script.json'),
});

export function scriptAgent(ws: TempWorkspace, attempts: string[][], maxAttempts = 3): void {
  ws.write('script.json', JSON.stringify({ attempts }));
  ws.write(
    '.nexus/agents/scripted.md',
    ['---', 'backend: claude', 'limits:', `  max_attempts: ${maxAttempts}`, '---', 'scripted'].join(
      '\n',
    ),
  );
}

export interface Daemon {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** SIGKILL, as a crash would. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDaemon(
  ws: TempWorkspace,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Daemon> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], {
    cwd: ws.dir,
    env: { ...ws.env, ...scriptedEnv(ws), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise((r) => child.once('close', r));
  for (let i = 0; i < 200 && !/bridge\s+ws:\/\//.test(out); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = /bridge\s+(ws:\/\/\S+)/.exec(out);
  if (!m) {
    child.kill('SIGKILL');
    throw new Error(`nexus serve did not start:\n${out}`);
  }
  return {
    child,
    url: m[1] as string,
    output: () => out,
    async crash() {
      child.kill('SIGKILL');
      await closed;
    },
    async stop() {
      child.kill('SIGTERM');
      await closed;
    },
  };
}

/** Polls `nexus run status` until the run ends (or the time runs out). */
export async function waitForEnd(
  ws: TempWorkspace,
  id: string,
  timeoutMs = 60_000,
): Promise<{ status: string; outcome?: { exit_code: number } }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await nexus(ws, ['run', 'status', id, '--json']);
    if (r.code === 0) {
      const m = JSON.parse(r.stdout) as { status: string; outcome?: { exit_code: number } };
      if (!['initialized', 'queued', 'running'].includes(m.status)) return m;
    }
    if (Date.now() > deadline) throw new Error(`run ${id} did not end in time`);
    await new Promise((r2) => setTimeout(r2, 200));
  }
}
