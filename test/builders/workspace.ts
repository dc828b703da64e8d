/** Test builders: a throwaway workspace with definitions, and a way to run the real CLI in it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO, 'src', 'cli', 'bin.ts');
export const EXAMPLES = join(REPO, 'examples', 'workspace');

/** A git identity for commits made in tests. */
export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Nexus Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Nexus Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
};

export interface TempWorkspace {
  dir: string;
  stateDir: string;
  write(relative: string, text: string): string;
  env: Record<string, string>;
}

/** A fresh workspace; `withExamples` copies the bundled example definitions into it. */
export function tempWorkspace(opts: { withExamples?: boolean } = {}): TempWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-ws-'));
  if (opts.withExamples) cpSync(join(EXAMPLES, '.nexus'), join(dir, '.nexus'), { recursive: true });
  const stateDir = join(dir, '.nexus', 'state');
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NEXUS_WORKSPACE: dir,
    NEXUS_STATE_DIR: stateDir,
    NEXUS_CONFIG_DIR: join(dir, 'user-config'),
  };
  delete env.NEXUS_RUN_ID;
  delete env.NEXUS_CONNECT;
  return {
    dir,
    stateDir,
    env,
    write(relative, text) {
      const path = join(dir, relative);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      return path;
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `nexus` CLI (from source, on this Node) as a separate process. */
export function nexus(
  ws: TempWorkspace,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<CliResult> {
  return runCli(CLI, ws, args, { env: extraEnv });
}

/**
 * Runs a `nexus` entry (the source's or a built `dist/cli.cjs`) as a separate process;
 * `onSpawn` gets its pid and a way to kill it -9. The result says which signal ended it, if any.
 */
export function runCli(
  entry: string,
  ws: TempWorkspace,
  args: string[],
  opts: { env?: Record<string, string>; onSpawn?: (pid: number, kill: () => void) => void } = {},
): Promise<CliResult & { signal: NodeJS.Signals | null }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [entry, ...args], {
      cwd: ws.dir,
      env: { ...ws.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
    if (child.pid !== undefined) opts.onSpawn?.(child.pid, () => child.kill('SIGKILL'));
  });
}

/** Creates a run and returns its full id. */
export async function initRun(ws: TempWorkspace, args: string[]): Promise<string> {
  const r = await nexus(ws, ['init', '--json', ...args]);
  if (r.code !== 0) throw new Error(`nexus init failed (${r.code}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { id: string }).id;
}

/**
 * Starts the real CLI with `--json` output and keeps the child (to signal it); `done` resolves
 * with its exit code, the JSON it printed (`{}` when none) and its stderr.
 */
export function startCliJson<T>(
  ws: TempWorkspace,
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; done: Promise<{ code: number | null; manifest: T; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ws.dir,
    env: { ...ws.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; manifest: T; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      let manifest = {} as T;
      try {
        manifest = JSON.parse(out) as T;
      } catch {
        // the caller's assertion on the exit code reports it, with stderr
      }
      resolve({ code, manifest, stderr: err });
    }),
  );
  return { child, done };
}

/** The scripted backend (test/fakes): each attempt runs the shell commands of `script.json`. */
export const SCRIPTED_BACKEND = join(REPO, 'test', 'fakes', 'scripted-backend.ts');

/**
 * Writes `script.json` (one list of commands per attempt) and starts the real `nexus run` with
 * the scripted backend; `done` resolves with its exit code and everything it printed.
 */
export function startScriptedRun(
  ws: TempWorkspace,
  attempts: string[][],
  args: string[],
): { child: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
  ws.write('script.json', JSON.stringify({ attempts }));
  const child = spawn(process.execPath, [CLI, 'run', ...args], {
    cwd: ws.dir,
    env: {
      ...ws.env,
      NEXUS_TEST_BACKEND: SCRIPTED_BACKEND,
      NEXUS_SCRIPT_FILE: join(ws.dir, 'script.json'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, done: new Promise((r) => child.on('close', (code) => r({ code, out }))) };
}

/** A one-task assignment (`make`) whose check passes once `file` exists in the workspace. */
export function fileAssignment(ws: TempWorkspace, name: string, file: string): void {
  ws.write(
    `.nexus/assignments/${name}.md`,
    [
      '---',
      'tasks:',
      '  - id: make',
      `    title: Make ${file}`,
      '    verify:',
      `      - test -f ${file}`,
      '---',
      `Create ${file}.`,
    ].join('\n'),
  );
}

/** The assignment `commit`: one task, verified by a commit named `first` in the workspace. */
export function writeCommitAssignment(ws: TempWorkspace): void {
  ws.write(
    '.nexus/assignments/commit.md',
    [
      '---',
      'tasks:',
      '  - id: commit',
      '    title: Commit the work',
      '    verify:',
      '      - git log --oneline | grep -q first',
      '---',
      'Make one commit named first.',
    ].join('\n'),
  );
}
