/**
 * Protected paths: what a task's checks stand on (its tests, the check scripts, `package.json`)
 * must be as it was when the run started, or the task does not verify. Agents rewriting the
 * tests until they pass is the commonest way a "verified" run lies; this is the judge's answer.
 * The baseline lives in core's record of the run, which the agent cannot write.
 */
import type { Baseline, CheckResult, RunManifest, TaskState } from './domain/run.ts';

/** Reads the workspace's protected files (the filesystem adapter in practice). */
export interface ProtectedFiles {
  /** Relative path (with `/`) → sha256 of the content, for every file the globs match. */
  snapshot(cwd: string, globs: readonly string[]): Promise<Record<string, string>>;
  /** The workspace's git commit, when it is a repository. */
  gitHead(cwd: string): Promise<string | undefined>;
}

const keyOf = (globs: readonly string[]): string => JSON.stringify([...globs].sort());

/**
 * The baseline for the run's protected tasks and the commit it starts from (the base of the
 * run's change); undefined when no task protects anything and the workspace is no repository.
 */
export async function takeBaseline(
  tasks: readonly TaskState[],
  cwd: string,
  files: ProtectedFiles,
  now: string,
): Promise<Baseline | undefined> {
  const protectedTasks = tasks.filter((t) => t.protect.length > 0);
  if (protectedTasks.length === 0) {
    const head = await files.gitHead(cwd);
    return head ? { taken_at: now, git_head: head, files: {}, tasks: {} } : undefined;
  }
  const snapshots = new Map<string, Record<string, string>>();
  const baseline: Baseline = { taken_at: now, files: {}, tasks: {} };
  for (const task of protectedTasks) {
    const key = keyOf(task.protect);
    let snap = snapshots.get(key);
    if (snap === undefined) {
      snap = await files.snapshot(cwd, task.protect);
      snapshots.set(key, snap);
    }
    Object.assign(baseline.files, snap);
    baseline.tasks[task.id] = Object.keys(snap).sort();
  }
  const head = await files.gitHead(cwd);
  if (head) baseline.git_head = head;
  return baseline;
}

export interface ProtectedChange {
  path: string;
  change: 'modified' | 'added' | 'deleted';
}

/** What changed under the task's protected globs since the baseline (empty: nothing). */
export async function protectedChanges(
  task: TaskState,
  m: Pick<RunManifest, 'baseline' | 'workspace'>,
  files: ProtectedFiles,
): Promise<ProtectedChange[] | 'no-baseline'> {
  if (task.protect.length === 0) return [];
  const base = m.baseline?.tasks[task.id];
  if (m.baseline === undefined || base === undefined) return 'no-baseline';
  const now = await files.snapshot(m.workspace.cwd, task.protect);
  const changes: ProtectedChange[] = [];
  for (const path of base) {
    const hash = now[path];
    if (hash === undefined) changes.push({ path, change: 'deleted' });
    else if (hash !== m.baseline.files[path]) changes.push({ path, change: 'modified' });
  }
  const known = new Set(base);
  for (const path of Object.keys(now).sort())
    if (!known.has(path)) changes.push({ path, change: 'added' });
  return changes;
}

/** The failed check a protected-path change becomes (the nudge names each file). */
export function protectionFailure(
  task: TaskState,
  changes: ProtectedChange[] | 'no-baseline',
): CheckResult {
  const output =
    changes === 'no-baseline'
      ? 'no baseline of the protected files was recorded for this run, so they cannot be trusted'
      : `protected files changed since the run started (restore them; the checks stand on them):\n${changes
          .map((c) => `  ${c.path} (${c.change})`)
          .join('\n')}`;
  return {
    name: 'protected files',
    command: `protect: ${task.protect.join(', ')}`,
    exit_code: null,
    passed: false,
    timed_out: false,
    duration_ms: 0,
    output,
  };
}
