/**
 * The agent's sandbox on Linux: bubblewrap (Debian's `bubblewrap`, the same tool Claude Code's
 * own sandbox runtime uses). Every process of the agent — the CLI, its tools, whatever they
 * start, `setsid` and double forks included — lives in a new PID namespace that dies with the
 * runner, sees the whole filesystem read-only except the workspace and its own scratch, and
 * cannot see the state dir (manifests, events, tokens), other runs or the person's secrets.
 * Checks run in a sandbox of their own built by the same function.
 *
 * Not a network sandbox: the agent keeps the host's network (it must reach the model endpoint
 * and the git remote); see docs/security.md.
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join, resolve, sep } from 'node:path';
import type { Sandbox, SandboxExtra } from '../../core/ports.ts';

/** What one sandbox lets through. Paths are absolute; missing ones are skipped. */
export interface ConfinePolicy {
  /** The run's workspace: writable. */
  workspace: string;
  /**
   * Made invisible: an empty tmpfs over a directory (private and writable inside, gone after),
   * /dev/null over a file.
   */
  hidden: readonly string[];
  /** Visible read-only even inside a hidden or writable tree (the `nexus` shim, definitions). */
  readOnly: readonly string[];
  /** Writable besides the workspace (the backend's own home, tool caches). */
  writable: readonly string[];
}

/** The person's secrets no agent or check needs unless its permissions grant them. */
export function secretPaths(home: string = homedir()): string[] {
  return [
    '.ssh',
    '.gnupg',
    '.aws',
    '.azure',
    '.config/gcloud',
    '.kube',
    '.docker',
    '.netrc',
    '.git-credentials',
    '.config/git/credentials',
    '.npmrc',
    '.pypirc',
    '.config/gh',
    '.password-store',
    '.local/share/keyrings',
  ].map((p) => join(home, p));
}

type Mount = { path: string; kind: 'rw' | 'ro' | 'hide' };

const depth = (p: string): number => p.split(sep).filter(Boolean).length;

/**
 * The bwrap arguments for a policy, before the command. Mounts are ordered by depth so that a
 * deeper rule always wins over the tree around it: the state dir is hidden inside the writable
 * workspace, and the shim dir shows through the hidden state dir.
 */
export function bubblewrapArgs(policy: ConfinePolicy): string[] {
  const mounts = new Map<string, Mount>();
  const add = (path: string, kind: Mount['kind']): void => {
    if (!isAbsolute(path)) return;
    const p = resolve(path);
    mounts.delete(p);
    mounts.set(p, { path: p, kind });
  };
  add(policy.workspace, 'rw');
  for (const p of policy.writable) add(p, 'rw');
  for (const p of policy.readOnly) add(p, 'ro');
  for (const p of policy.hidden) add(p, 'hide');
  const ordered = [...mounts.values()].sort((a, b) => depth(a.path) - depth(b.path));
  const args = [
    '--die-with-parent',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--new-session',
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
  ];
  for (const m of ordered) {
    if (m.kind === 'rw') args.push('--bind-try', m.path, m.path);
    else if (m.kind === 'ro') args.push('--ro-bind-try', m.path, m.path);
    else if (existsSync(m.path)) {
      if (isDir(m.path)) args.push('--tmpfs', m.path);
      else args.push('--ro-bind', '/dev/null', m.path);
    }
  }
  args.push('--chdir', policy.workspace);
  return args;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A sandbox that runs every command through bwrap with one policy (plus per-call extras). */
export class BubblewrapSandbox implements Sandbox {
  readonly kind = 'bubblewrap' as const;
  readonly #bin: string;
  readonly #policy: ConfinePolicy;

  constructor(bin: string, policy: ConfinePolicy) {
    this.#bin = bin;
    this.#policy = policy;
  }

  wrap(
    bin: string,
    args: readonly string[],
    extra?: SandboxExtra,
  ): { bin: string; args: string[] } {
    const policy: ConfinePolicy = {
      ...this.#policy,
      readOnly: [...this.#policy.readOnly, ...(extra?.readable ?? [])],
      writable: [...this.#policy.writable, ...(extra?.writable ?? [])],
    };
    return { bin: this.#bin, args: [...bubblewrapArgs(policy), '--', bin, ...args] };
  }
}

/** No sandbox: the command runs as is. The run is marked `unsandboxed` where this is used. */
export const NO_SANDBOX: Sandbox = {
  kind: 'none',
  wrap: (bin, args) => ({ bin, args: [...args] }),
};

export type SandboxProbe = { ok: true; bin: string } | { ok: false; reason: string };

/**
 * Whether bubblewrap can start here with the features we use (user or PID namespaces may be
 * off in a container). `NEXUS_BWRAP` names the binary; `NEXUS_BWRAP=none` disables it.
 */
export async function probeBubblewrap(env: NodeJS.ProcessEnv = process.env): Promise<SandboxProbe> {
  if (process.platform !== 'linux') {
    return { ok: false, reason: `no sandbox for ${process.platform} yet (bubblewrap is Linux)` };
  }
  const named = env.NEXUS_BWRAP;
  if (named === 'none') return { ok: false, reason: 'disabled by NEXUS_BWRAP=none' };
  const bin = named ?? findOnPath('bwrap', env.PATH ?? '/usr/bin:/bin');
  if (bin === undefined) {
    return { ok: false, reason: 'bubblewrap is not installed (apt-get install bubblewrap)' };
  }
  const args = [...bubblewrapArgs({ workspace: '/', hidden: [], readOnly: [], writable: [] })];
  return new Promise((resolvePromise) => {
    execFile(bin, [...args, '--', 'true'], { timeout: 10_000 }, (err, _out, stderr) => {
      if (!err) resolvePromise({ ok: true, bin });
      else
        resolvePromise({
          ok: false,
          reason: `bubblewrap cannot start here: ${(stderr || err.message).trim().split('\n')[0] ?? ''}`,
        });
    });
  });
}

function findOnPath(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
