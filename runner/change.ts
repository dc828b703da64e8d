/**
 * The run's change, the runner's side: when a run ends, what its workspace differs from the
 * commit the run started from — tracked edits, new files (.gitignore respected), deletions,
 * renames, binary files — as one `git diff --binary` patch. Computed through a temporary index,
 * so the person's index and working tree are never touched, and never holding the state dir.
 * Where the agent may push, the same tree is committed on `nexus/<run-id>` (never the checked
 * out branch, never forced) and pushed to the run's remote.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { UnnumberedRunnerReport } from '../src/core/api.ts';
import type { ChangedFile, RunChange } from '../src/core/domain/change.ts';
import { CHANGE_CHUNK_BYTES, changeBranch } from '../src/core/domain/change.ts';
import { git, gitText } from '../src/adapters/git/run-git.ts';
import type { LoopState } from '../src/core/loop.ts';
import type { ApprovalGate } from '../src/core/ports.ts';
import type { RunConfigPayload } from '../src/protocol/payload.ts';

export interface ComputedChange {
  change: RunChange;
  /** The patch as kept (its head only, when truncated). */
  patch: Buffer;
  /** The tree of the workspace as the change sees it (what a push commits). */
  tree: string;
  top: string;
}

export interface ChangeOptions {
  /** The run's workspace (a repository or a folder inside one). */
  cwd: string;
  /** The commit the run started from. */
  base: string;
  maxBytes: number;
  /** Absolute folders never part of the change (the state dir). */
  exclude: readonly string[];
  now: string;
}

const DIFF = ['--no-ext-diff', '--no-textconv', '--no-color', '-M'];

/** The change against `base`, or undefined when the workspace is not the base's repository. */
export async function computeChange(
  o: ChangeOptions,
  log: (line: string) => void = () => undefined,
): Promise<ComputedChange | undefined> {
  const where = await git(o.cwd, ['rev-parse', '--show-toplevel']);
  if (where.signal) throw new Error(`git rev-parse was stopped by ${where.signal}`);
  const top = where.code === 0 ? where.stdout.toString().trim() : '';
  if (!top) {
    log(`no change to report: ${o.cwd} is not in a git repository`);
    return undefined;
  }
  if ((await git(top, ['cat-file', '-e', `${o.base}^{commit}`])).code !== 0) {
    log(`no change to report: the run's base ${o.base} is not in ${top}`);
    return undefined;
  }
  const scratch = await mkdtemp(join(tmpdir(), 'nexus-change-'));
  const env = { GIT_INDEX_FILE: join(scratch, 'index') };
  try {
    // Start from what is committed now (tracked-but-ignored files stay tracked), then take in
    // the working tree as it is: edits, deletions, and new files that .gitignore lets through.
    const head = (await git(top, ['rev-parse', '--verify', '-q', 'HEAD'])).code === 0;
    await gitText(top, ['read-tree', head ? 'HEAD' : o.base], { env });
    const noFilters = await filtersOff(top);
    await gitText(top, [...noFilters, 'add', '-A', '--', '.', ...excludes(top, o.exclude)], {
      env,
    });
    const tree = (await gitText(top, ['write-tree'], { env })).trim();
    const diff = await git(top, ['diff', '--cached', '--binary', '--full-index', ...DIFF, o.base], {
      env,
      maxBytes: o.maxBytes,
      timeoutMs: 300_000,
    });
    if (diff.code !== 0) throw new Error(`git diff failed: ${diff.stderr.trim()}`);
    const files = await changedFiles(top, o.base, env);
    const truncated = diff.bytes > o.maxBytes;
    const patch = truncated ? cutAtLine(diff.stdout) : diff.stdout;
    return {
      top,
      tree,
      patch,
      change: {
        base: o.base,
        files,
        bytes: diff.bytes,
        truncated,
        ...(patch.length > 0 ? { sha256: createHash('sha256').update(patch).digest('hex') } : {}),
        at: o.now,
      },
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Clean filters are programs named by the repository's config, which the agent could write:
 * each one configured is turned off for the runner's `git add` (the patch holds the working
 * tree's bytes as they are).
 */
async function filtersOff(top: string): Promise<string[]> {
  const r = await git(top, ['config', '--name-only', '--get-regexp', '^filter\\.']);
  const names = new Set<string>();
  for (const key of r.stdout.toString().split('\n')) {
    const m = /^filter\.(.+)\.[^.]+$/.exec(key.trim());
    if (m?.[1]) names.add(m[1]);
  }
  return [...names].flatMap((n) => [
    '-c',
    `filter.${n}.clean=`,
    '-c',
    `filter.${n}.process=`,
    '-c',
    `filter.${n}.required=false`,
  ]);
}

function excludes(top: string, folders: readonly string[]): string[] {
  const out = [':(exclude).nexus/state'];
  for (const f of folders) {
    const rel = isAbsolute(f) ? relative(top, f) : f;
    if (rel && !rel.startsWith('..') && !isAbsolute(rel))
      out.push(`:(exclude)${rel.split(sep).join('/')}`);
  }
  return out;
}

/** A truncated patch ends at a line boundary (a reader sees whole lines). */
function cutAtLine(b: Buffer): Buffer {
  const nl = b.lastIndexOf(0x0a);
  return nl >= 0 ? b.subarray(0, nl + 1) : Buffer.alloc(0);
}

async function changedFiles(
  top: string,
  base: string,
  env: Record<string, string>,
): Promise<ChangedFile[]> {
  const status = (
    await gitText(top, ['diff', '--cached', '-z', '--name-status', ...DIFF, base], { env })
  ).split('\0');
  const numstat = (
    await gitText(top, ['diff', '--cached', '-z', '--numstat', ...DIFF, base], { env })
  ).split('\0');
  const counts = new Map<string, { additions?: number; deletions?: number }>();
  for (let i = 0; i < numstat.length; i++) {
    const head = numstat[i];
    if (!head) continue;
    const [add, del, path] = head.split('\t');
    // A rename's entry names no path: the old and the new follow as their own fields.
    const key = path === '' ? numstat[(i += 2)] : path;
    if (key === undefined) continue;
    counts.set(key, add === '-' ? {} : { additions: Number(add), deletions: Number(del) });
  }
  const files: ChangedFile[] = [];
  for (let i = 0; i < status.length; i++) {
    const code = status[i];
    if (!code) continue;
    const letter = code[0];
    if (letter === 'R') {
      const from = status[++i] ?? '';
      const path = status[++i] ?? '';
      files.push({ path, status: 'R', from, ...counts.get(path) });
    } else {
      const path = status[++i] ?? '';
      const s = letter === 'A' || letter === 'D' ? letter : 'M';
      files.push({ path, status: s, ...counts.get(path) });
    }
  }
  return files;
}

export interface PushResult {
  branch: string;
  pushed: boolean;
  error?: string;
}

/**
 * Commits the change's tree on `nexus/<run-id>` (after the branch's own earlier commit when
 * this run pushed before, else on the base) and pushes that one branch, never forced.
 */
export async function pushChange(
  c: ComputedChange,
  runId: string,
  env: Record<string, string | undefined>,
): Promise<PushResult> {
  const branch = changeBranch(runId);
  const ref = `refs/heads/${branch}`;
  const fail = (error: string): PushResult => ({ branch, pushed: false, error });
  const remotes = (await gitText(c.top, ['remote'])).split('\n').filter(Boolean);
  const remote = remotes.includes('origin') ? 'origin' : remotes[0];
  if (!remote) return fail('the workspace has no git remote to push to');
  const earlier = (await git(c.top, ['rev-parse', '--verify', '-q', `${ref}^{commit}`])).stdout
    .toString()
    .trim();
  const parent = earlier || c.change.base;
  const identity = await committer(c.top);
  const commit = (
    await gitText(c.top, ['commit-tree', c.tree, '-p', parent, '-m', `Nexus run ${runId}`], {
      env: { ...env, ...identity },
    })
  ).trim();
  const current = (await git(c.top, ['symbolic-ref', '-q', 'HEAD'])).stdout.toString().trim();
  if (current !== ref) await gitText(c.top, ['update-ref', ref, commit]);
  const push = await git(
    c.top,
    [...credentialArgs(env), 'push', '--porcelain', remote, `${commit}:${ref}`],
    { env, timeoutMs: 300_000 },
  );
  if (push.code !== 0)
    return fail(`git push to ${remote} failed: ${lastLine(push.stderr || push.stdout.toString())}`);
  return { branch, pushed: true };
}

/**
 * With `NEXUS_GIT_TOKEN` set (a pod's Secret, or the person's environment), git asks a helper
 * that answers with it from the environment: the token is never on a command line, and a
 * helper from the repository's own config (the agent could have written one) is dropped.
 */
function credentialArgs(env: Record<string, string | undefined>): string[] {
  if (!env.NEXUS_GIT_TOKEN) return [];
  const helper =
    '!f() { test "$1" = get || exit 0; echo "username=${NEXUS_GIT_USERNAME:-x-access-token}"; echo "password=$NEXUS_GIT_TOKEN"; }; f';
  return ['-c', 'credential.helper=', '-c', `credential.helper=${helper}`];
}

/** The repository's configured identity, or "Nexus runner" where it has none. */
async function committer(top: string): Promise<Record<string, string>> {
  const name = (await git(top, ['config', 'user.name'])).stdout.toString().trim();
  const email = (await git(top, ['config', 'user.email'])).stdout.toString().trim();
  if (name && email) return {};
  const who = { name: 'Nexus runner', email: 'nexus-runner@localhost' };
  return {
    GIT_AUTHOR_NAME: who.name,
    GIT_AUTHOR_EMAIL: who.email,
    GIT_COMMITTER_NAME: who.name,
    GIT_COMMITTER_EMAIL: who.email,
  };
}

const lastLine = (s: string): string =>
  s
    .trim()
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('To '))
    .pop() ?? 'no reason given';

/** The change as reports: the patch in pieces, then the summary naming them. */
export function changeReports(change: RunChange, patch: Buffer): UnnumberedRunnerReport[] {
  const sha256 = change.sha256 ?? '';
  const count = sha256 ? Math.ceil(patch.length / CHANGE_CHUNK_BYTES) : 0;
  const out: UnnumberedRunnerReport[] = [];
  for (let index = 0; index < count; index++) {
    const data = patch
      .subarray(index * CHANGE_CHUNK_BYTES, (index + 1) * CHANGE_CHUNK_BYTES)
      .toString('base64');
    out.push({ type: 'change.chunk', sha256, index, count, data });
  }
  out.push({ type: 'change', change, chunks: count });
  return out;
}

export interface RunChangeDeps {
  payload: RunConfigPayload;
  state: LoopState;
  /** Folders never part of the change (the state dir, wherever it is). */
  exclude: readonly string[];
  /** The runner's environment (a pod's push credentials come with it). */
  env: Record<string, string | undefined>;
  approvals: ApprovalGate;
  log: (line: string) => void;
}

/**
 * At a run's end: reports its change against the base the run recorded, and pushes it where
 * the agent may push. Never fails the run: what goes wrong is logged and the run ends as it was.
 */
export async function reportRunChange(d: RunChangeDeps): Promise<void> {
  try {
    // What was reported so far (the baseline among it) is applied before the base is read.
    await d.state.sync();
    const base = (await d.state.read()).baseline?.git_head;
    if (!base) return;
    const computed = await computeChange(
      {
        cwd: d.payload.workspace.cwd,
        base,
        maxBytes: d.payload.limits.patch_max_bytes,
        exclude: d.exclude,
        now: new Date().toISOString(),
      },
      d.log,
    );
    if (!computed) return;
    const { change } = computed;
    if (d.payload.permissions.can_push && change.files.length > 0) {
      const push = await gatedPush(d, computed);
      change.branch = push.branch;
      change.pushed = push.pushed;
      if (push.error) {
        change.push_error = push.error;
        d.log(`change not pushed: ${push.error}`);
      } else d.log(`change pushed to ${push.branch}`);
    }
    for (const r of changeReports(change, computed.patch)) await d.state.report(r);
    d.log(
      `change: ${change.files.length} file(s), ${change.bytes} bytes${change.truncated ? ` (over the ${d.payload.limits.patch_max_bytes}-byte cap: file list only)` : ''}`,
    );
  } catch (err) {
    d.log(`could not report the run's change: ${(err as Error).message}`);
  }
}

async function gatedPush(d: RunChangeDeps, c: ComputedChange): Promise<PushResult> {
  const branch = changeBranch(d.payload.run_id);
  if (d.payload.permissions.requires_approval_for.includes('push')) {
    const decision = await d.approvals.request('push', `git push ${branch} (the run's change)`);
    if (!decision.approved)
      return {
        branch,
        pushed: false,
        error: `push denied${decision.reason ? `: ${decision.reason}` : ''}`,
      };
  }
  return pushChange(c, d.payload.run_id, d.env).catch((err: unknown) => ({
    branch,
    pushed: false,
    error: (err as Error).message,
  }));
}
