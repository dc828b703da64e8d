/**
 * The files a run touched, for the run detail view. Until a run's manifest records its change
 * set at its end, this asks git live in the run's workspace: `git diff --name-status` and
 * `--numstat` against the baseline's commit (or HEAD, said so, when the run recorded none),
 * plus untracked files. One function, so the recorded `change.files` can take its place.
 */
import { execFile } from 'node:child_process';
import type { RunManifest } from '../../core/domain/run.ts';
import type { ChangedFile } from '../../protocol/run-detail.ts';

export interface RunChanges {
  /** The commit the diff is against (the run's baseline). */
  base?: string | undefined;
  /** The working tree the files are in. */
  cwd: string;
  files: ChangedFile[];
  /** Why there is nothing to show, when there is not. */
  note?: string | undefined;
}

/** At most this many files are listed (a run that rewrote a tree lists the first ones). */
const MAX_FILES = 2_000;

export async function changesOf(m: RunManifest): Promise<RunChanges> {
  const cwd = m.workspace.cwd;
  if (m.runtime !== 'local') {
    return { cwd, files: [], note: `A ${m.runtime} run's workspace is not on this machine.` };
  }
  let base = m.baseline?.git_head;
  let note: string | undefined;
  if (!base) {
    // Only runs with protected tasks record their start commit; for the others the current
    // HEAD is the nearest base (right unless the agent committed), and the view says so.
    try {
      base = (await git(cwd, ['rev-parse', '--verify', 'HEAD'])).trim();
      note = 'The run recorded no start commit: compared with the current HEAD.';
    } catch {
      return {
        cwd,
        files: [],
        note: 'The workspace is not a git repository with a commit: nothing to compare with.',
      };
    }
  }
  try {
    const [status, numstat, untracked] = await Promise.all([
      git(cwd, ['diff', '--name-status', '-z', '-M', base, '--']),
      git(cwd, ['diff', '--numstat', '-z', '-M', base, '--']),
      git(cwd, ['ls-files', '--others', '--exclude-standard', '-z']),
    ]);
    const stats = parseNumstat(numstat);
    const files = parseNameStatus(status).map((f) => ({ ...f, ...stats.get(f.path) }));
    for (const path of untracked.split('\0').filter(Boolean)) {
      if (!files.some((f) => f.path === path)) files.push({ path, status: 'A' });
    }
    // Core's own state is never the agent's change, even where it is not git-ignored.
    const shown = files.filter((f) => !f.path.startsWith('.nexus/state/'));
    shown.sort((a, b) => a.path.localeCompare(b.path));
    return { base, cwd, files: shown.slice(0, MAX_FILES), ...(note ? { note } : {}) };
  } catch (err) {
    return {
      base,
      cwd,
      files: [],
      note: `git cannot compare with ${base.slice(0, 8)}: ${String((err as Error).message).split('\n')[0]}`,
    };
  }
}

/** `git show <base>:<path>`: a file as it was at the base ('' where it did not exist). */
export async function contentAtBase(cwd: string, base: string, path: string): Promise<string> {
  try {
    return await git(cwd, ['show', `${base}:${path}`]);
  } catch {
    return '';
  }
}

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-c', 'core.quotepath=false', ...args],
      { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } },
      (err, stdout) => (err ? reject(new Error(err.message)) : resolve(stdout)),
    );
  });
}

/** `-z` name-status: `M\0path\0`, `R100\0old\0new\0`. */
export function parseNameStatus(out: string): ChangedFile[] {
  const parts = out.split('\0');
  const files: ChangedFile[] = [];
  for (let i = 0; i < parts.length;) {
    const code = parts[i++] ?? '';
    if (!code) continue;
    const letter = code[0];
    const path = letter === 'R' || letter === 'C' ? (i++, parts[i++]) : parts[i++];
    if (!path) continue;
    const status =
      letter === 'A' || letter === 'D' || letter === 'R' ? letter : letter === 'C' ? 'A' : 'M';
    files.push({ path, status });
  }
  return files;
}

/** `-z` numstat: `add\tdel\tpath\0`, or `add\tdel\t\0old\0new\0` for a rename; `-` for binary. */
function parseNumstat(out: string): Map<string, { additions?: number; deletions?: number }> {
  const map = new Map<string, { additions?: number; deletions?: number }>();
  const parts = out.split('\0');
  for (let i = 0; i < parts.length; i++) {
    const [add, del, path] = (parts[i] ?? '').split('\t');
    if (add === undefined || del === undefined) continue;
    const name = path === '' ? ((i += 2), parts[i]) : path;
    if (!name || add === '-') continue;
    map.set(name, { additions: Number(add), deletions: Number(del) });
  }
  return map;
}
