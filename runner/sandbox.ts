/**
 * The runner's two sandboxes, from the payload's `sandbox` setting: one for the agent's whole
 * process tree (workspace and its backend's home writable; state dir, runner dir, tokens and
 * the person's secrets hidden; definitions read-only) and one for the checks (the same walls,
 * only the workspace writable). Where bubblewrap cannot start, the run goes on `unsandboxed`
 * and says so — unless the agent requires a sandbox.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { SandboxSetting } from '../src/core/domain/definitions.ts';
import type { SandboxState } from '../src/core/domain/run.ts';
import { NexusError } from '../src/core/errors.ts';
import type { Sandbox } from '../src/core/ports.ts';
import {
  BubblewrapSandbox,
  NO_SANDBOX,
  probeBubblewrap,
  secretPaths,
} from '../src/adapters/sandbox/bubblewrap.ts';
import type { ConfinePolicy } from '../src/adapters/sandbox/bubblewrap.ts';

export interface RunnerSandboxes {
  agent: Sandbox;
  /** For checks over the workspace. */
  checks: Sandbox;
  state: SandboxState;
  /** Places the agent can write (never on the checks' PATH). */
  agentWritable: string[];
}

const expandHome = (p: string, home: string): string =>
  p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : resolve(p);

/** The nearest folder upward holding a package.json (the installed Nexus the shim runs). */
function packageRoot(file: string): string {
  let dir = dirname(resolve(file));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return dirname(resolve(file));
    dir = up;
  }
}

export async function buildSandboxes(opts: {
  setting: SandboxSetting;
  workspace: string;
  stateDir: string | undefined;
  runnerDir: string;
  /** Shown to the agent read-only: the `nexus` shim, gate shims, the permissions file. */
  agentDir: string;
  cliEntry: string;
  userConfigDir: string;
  env: NodeJS.ProcessEnv;
}): Promise<RunnerSandboxes> {
  const home = opts.env.HOME ?? homedir();
  const allowRead = opts.setting.allow_read.map((p) => expandHome(p, home));
  const allowWrite = opts.setting.allow_write.map((p) => expandHome(p, home));
  // Tool caches: the agent gets empty private ones (npm install still works) — never the
  // person's, whose binaries the person runs later (a planted one would outlive the sandbox).
  const caches = [join(home, '.npm'), join(home, '.cache')].filter((p) => existsSync(p));
  const agentWritable = [opts.workspace, opts.runnerDir, '/tmp', ...caches, ...allowWrite];
  if (opts.setting.mode === 'off') {
    return {
      agent: NO_SANDBOX,
      checks: NO_SANDBOX,
      state: { kind: 'none', reason: "turned off by the agent's sandbox setting" },
      agentWritable,
    };
  }
  const probe = await probeBubblewrap(opts.env);
  if (!probe.ok) {
    if (opts.setting.mode === 'required') {
      throw new NexusError(
        'SANDBOX_UNAVAILABLE',
        `this agent requires a sandbox and none can start here: ${probe.reason}`,
        { reason: probe.reason },
      );
    }
    return {
      agent: NO_SANDBOX,
      checks: NO_SANDBOX,
      state: { kind: 'none', reason: probe.reason },
      agentWritable,
    };
  }
  const granted = (p: string): boolean =>
    allowRead.some((a) => p === a || p.startsWith(`${a}/`)) ||
    allowWrite.some((a) => p === a || p.startsWith(`${a}/`));
  // The person's session sockets (ssh-agent, gpg-agent, D-Bus) live in the runtime dir.
  const runtimeDir =
    opts.env.XDG_RUNTIME_DIR ??
    (typeof process.getuid === 'function' ? `/run/user/${process.getuid()}` : undefined);
  const hidden = [
    ...(opts.stateDir ? [opts.stateDir] : []),
    opts.runnerDir,
    ...secretPaths(home).filter((p) => !granted(p)),
    ...(runtimeDir && !granted(runtimeDir) ? [runtimeDir] : []),
  ];
  const base: ConfinePolicy = {
    workspace: opts.workspace,
    hidden,
    readOnly: [
      join(opts.workspace, '.nexus'),
      opts.userConfigDir,
      dirname(dirname(process.execPath)),
      packageRoot(opts.cliEntry),
    ],
    writable: [],
  };
  const agentPolicy: ConfinePolicy = {
    ...base,
    hidden: [...hidden, ...caches],
    readOnly: [...base.readOnly, opts.agentDir, ...allowRead],
    writable: allowWrite,
  };
  return {
    agent: new BubblewrapSandbox(probe.bin, agentPolicy),
    checks: new BubblewrapSandbox(probe.bin, base),
    state: { kind: 'bubblewrap' },
    agentWritable,
  };
}
