/**
 * Spawning an agent CLI for one attempt: its own process group, stdout streamed line by line
 * into the transcript and a callback, cancel = SIGINT to the whole group then SIGKILL after a
 * grace period, and nothing of the attempt left running afterwards.
 */
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';

/** Default time between SIGINT and SIGKILL on cancel/timeout. */
export const DEFAULT_KILL_GRACE_MS = 5000;

const STDERR_TAIL = 8192;

export interface StreamedProcessSpec {
  bin: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string>;
  /** Written to stdin, then stdin is closed; `undefined` = stdin ignored. */
  stdin: string | undefined;
  signal: AbortSignal;
  timeoutMs: number;
  killGraceMs: number;
  /** Every stdout line is appended here as it arrives (undefined = no transcript). */
  transcriptPath: string | undefined;
  onLine: (line: string) => void;
  onStderr?: (line: string) => void;
}

export interface ProcessOutcome {
  exitCode: number | undefined;
  /** Signal that ended the process, if any. */
  signal: string | undefined;
  cancelled: boolean;
  timedOut: boolean;
  /** The last few KB of stderr, for failure messages. */
  stderrTail: string;
  /** Set when the executable could not be started at all (ENOENT, EACCES). */
  spawnError: string | undefined;
}

/** Runs a process to completion under the attempt's signal and time limit. */
export async function runStreamed(spec: StreamedProcessSpec): Promise<ProcessOutcome> {
  let transcript: ReturnType<typeof createWriteStream> | undefined;
  if (spec.transcriptPath !== undefined) {
    mkdirSync(dirname(spec.transcriptPath), { recursive: true });
    transcript = createWriteStream(spec.transcriptPath, { flags: 'a', mode: 0o600 });
  }
  const child = execa(spec.bin, [...spec.args], {
    cwd: spec.cwd,
    env: spec.env,
    extendEnv: false,
    // Own process group: a cancel reaches the CLI and every tool process it started.
    detached: true,
    ...(spec.stdin !== undefined ? { input: spec.stdin } : { stdin: 'ignore' as const }),
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    windowsHide: true,
  });

  let cancelled = false;
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  // Descendants seen when stopping: some tools start their own process groups, and orphans
  // are re-parented, so the pids are remembered before the parent dies.
  const known = new Set<number>();
  const pid = child.pid;

  const stop = (): void => {
    if (pid === undefined || killTimer !== undefined) return;
    for (const d of descendants(pid)) known.add(d);
    signalGroup(pid, 'SIGINT');
    for (const d of known) signalPid(d, 'SIGINT');
    killTimer = setTimeout(() => {
      for (const d of descendants(pid)) known.add(d);
      signalGroup(pid, 'SIGKILL');
      for (const d of known) signalPid(d, 'SIGKILL');
    }, spec.killGraceMs);
  };
  const onAbort = (): void => {
    cancelled = true;
    stop();
  };
  if (spec.signal.aborted) onAbort();
  else spec.signal.addEventListener('abort', onAbort, { once: true });
  const timeout = setTimeout(() => {
    timedOut = true;
    stop();
  }, spec.timeoutMs);

  let stderrTail = '';
  const lines = child.stdout
    ? createInterface({ input: child.stdout, crlfDelay: Infinity })
    : undefined;
  lines?.on('line', (line) => {
    transcript?.write(`${line}\n`);
    if (line.trim()) spec.onLine(line);
  });
  const errLines = child.stderr
    ? createInterface({ input: child.stderr, crlfDelay: Infinity })
    : undefined;
  errLines?.on('line', (line) => {
    stderrTail = (stderrTail + line + '\n').slice(-STDERR_TAIL);
    spec.onStderr?.(line);
  });

  // The CLI itself exiting ends the attempt, even if a stray grandchild holds stdout open.
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve) => {
    const node = child.nodeChildProcess;
    if (node.exitCode !== null || node.signalCode !== null) {
      resolve({ code: node.exitCode, sig: node.signalCode });
      return;
    }
    node.once('exit', (code, sig) => resolve({ code, sig }));
    node.once('error', () => resolve({ code: null, sig: null }));
  });
  const { code, sig } = await exited;
  clearTimeout(timeout);
  spec.signal.removeEventListener('abort', onAbort);
  if (pid !== undefined) {
    // Whatever the attempt left behind (background jobs, a tool mid-run) goes too.
    for (const d of descendants(pid)) known.add(d);
    signalGroup(pid, 'SIGKILL');
    for (const d of known) signalPid(d, 'SIGKILL');
  }
  if (killTimer !== undefined) clearTimeout(killTimer);
  const result = await child;
  await new Promise<void>((resolve) => (transcript ? transcript.end(resolve) : resolve()));
  const spawnError =
    result.failed && result.exitCode === undefined && !result.isTerminated
      ? result.shortMessage
      : undefined;
  return {
    exitCode: code ?? undefined,
    signal: sig ?? undefined,
    cancelled,
    timedOut: timedOut && !cancelled,
    stderrTail,
    spawnError,
  };
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // The group is already gone.
  }
}

function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** All live descendants of `root` (Linux /proc; empty elsewhere). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the parenthesized command name: state, ppid, …
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(after[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    for (const c of children.get(next) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}
