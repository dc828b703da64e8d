/**
 * `nexus-runner`: payload in, attempt loop, exit code out. One code path for every agent and
 * every runtime: a local child process today, a Kubernetes Job's container tomorrow.
 */
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { ExitCode, exitCodeOf, toUserMessage } from '../src/core/errors.ts';
import type { GatedAction } from '../src/core/domain/definitions.ts';
import { runAttemptLoop } from '../src/core/loop.ts';
import type { BackendEvent } from '../src/core/ports.ts';
import type { RunConfigPayload } from '../src/protocol/payload.ts';
import { systemClock } from '../src/adapters/clock.ts';
import { ShellCommandRunner } from '../src/adapters/exec/shell-runner.ts';
import { ReportOutbox } from '../src/adapters/bridge/outbox.ts';
import { createBackend, foreignProviderKeys } from './backends.ts';
import { connectCore } from './connect.ts';
import type { CoreConnection } from './connect.ts';
import { loadPayload } from './payload.ts';
import { cliEntry, writeGateShims, writeNexusShim } from './shim.ts';
import { buildSandboxes } from './sandbox.ts';
import { checkEnvironment, makeRedactor, secretValues } from '../src/core/check-env.ts';
import { fsProtectedFiles } from '../src/adapters/workspace/protected-files.ts';
import { RunnerState } from './state.ts';
import { prepareWorkspace } from './workspace.ts';
import { LogBatcher } from './log-batcher.ts';

/**
 * What the runner has and the agent must not: its credentials, the payload, where the state
 * is. Other NEXUS_ settings (timeouts, test hooks, binaries) pass through.
 */
const RUNNER_ONLY_ENV =
  /^NEXUS_(RUN_CONFIG|RUN_CONFIG_FILE|USER_TOKEN|TOKEN|TOKEN_FILE|AGENT_TOKEN|CONNECT|STATE_DIR|WORKSPACE|RUNNER_DIR|ATTEMPTS_DIR|CONFIG_DIR|PLANE_API_KEY)$/;

export async function runnerMain(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const log = (line: string): void => {
    process.stderr.write(`[nexus-runner] ${line}\n`);
  };
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      'usage: nexus-runner --payload FILE|-   (or NEXUS_RUN_CONFIG / NEXUS_RUN_CONFIG_FILE)\n',
    );
    return ExitCode.ok;
  }
  let payload: RunConfigPayload | undefined;
  let core: CoreConnection | undefined;
  let state: RunnerState | undefined;
  const controller = new AbortController();
  const onSignal = (sig: string): void => {
    log(`${sig} received: cancelling the attempt`);
    controller.abort();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  try {
    payload = await loadPayload(argv, env);
    core = await connectCore(payload.workspace.cwd, payload.run_id, env, log);
    const runDir = env.NEXUS_RUNNER_DIR ?? join(tmpdir(), `nexus-runner-${payload.run_id}`);
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    const outbox = await ReportOutbox.open(join(runDir, 'outbox.jsonl'));
    const manifest = await core.api.getRun(payload.run_id);
    state = new RunnerState(
      core.api,
      payload.run_id,
      outbox,
      manifest.applied_op,
      log,
      controller.signal,
    );
    // Everything the agent may see of ours lives here (shims, its permissions), read-only.
    const agentDir = join(runDir, 'agent');
    const sandboxes = await buildSandboxes({
      setting: payload.sandbox,
      workspace: payload.workspace.cwd,
      stateDir: core.stateDir,
      runnerDir: runDir,
      agentDir,
      cliEntry: cliEntry(env),
      userConfigDir: core.userConfigDir,
      env,
    }).catch(async (err: unknown) => {
      await state?.report({ type: 'run.started', pid: process.pid, host: hostname() });
      throw err;
    });
    await state.report({
      type: 'run.started',
      pid: process.pid,
      host: hostname(),
      sandbox: sandboxes.state,
      via: core.mode,
    });
    if (sandboxes.state.kind === 'none')
      log(`unsandboxed: ${sandboxes.state.reason ?? 'no sandbox'}`);
    await prepareWorkspace(payload, log);
    const backend = await createBackend(payload.backend, env);
    const shimBin = await writeNexusShim(agentDir, env);
    if (payload.backend === 'codex') {
      // Codex has no hook to ask through: gate git/gh/rm on PATH with the same policy.
      const permissionsFile = join(agentDir, 'permissions.json');
      await writeFile(permissionsFile, JSON.stringify(payload.permissions), { mode: 0o600 });
      await writeGateShims(agentDir, permissionsFile, env.PATH ?? '/usr/bin:/bin', env);
    }
    const backendEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(env))
      if (v !== undefined && !RUNNER_ONLY_ENV.test(k)) backendEnv[k] = v;
    for (const k of foreignProviderKeys(payload.backend)) delete backendEnv[k];
    if (sandboxes.state.kind === 'bubblewrap') {
      // The person's agents' sockets are hidden in the sandbox: do not point at them.
      if (!payload.sandbox.allow_read.some((p) => p.includes('.ssh')))
        delete backendEnv.SSH_AUTH_SOCK;
      delete backendEnv.GPG_AGENT_INFO;
      delete backendEnv.DBUS_SESSION_BUS_ADDRESS;
      // /tmp is private inside: a TMPDIR below the host's /tmp would not exist there.
      if (backendEnv.TMPDIR?.startsWith('/tmp/')) backendEnv.TMPDIR = '/tmp';
    }
    Object.assign(backendEnv, payload.backend_settings.env, await core.agentEnv(), {
      NEXUS_RUN_ID: payload.run_id,
      PATH: `${shimBin}:${env.PATH ?? '/usr/bin:/bin'}`,
    });
    const checkEnv = checkEnvironment(env, [...sandboxes.agentWritable, agentDir]);
    if (sandboxes.state.kind === 'bubblewrap' && checkEnv.TMPDIR?.startsWith('/tmp/'))
      checkEnv.TMPDIR = '/tmp';
    const redact = makeRedactor(
      secretValues(env, payload.backend_settings.env, { NEXUS_TOKEN: backendEnv.NEXUS_TOKEN }),
    );
    const attemptsDir = env.NEXUS_ATTEMPTS_DIR ?? join(runDir, 'attempts');
    await mkdir(attemptsDir, { recursive: true });
    const logs = new LogBatcher(
      (attempt, lines) => void state?.report({ type: 'log', attempt, lines: lines.map(redact) }),
    );
    const api = core.api;
    const runId = payload.run_id;
    const timeoutSec = Number(env.NEXUS_APPROVAL_TIMEOUT_SEC ?? 900);
    const outcome = await runAttemptLoop(
      payload,
      {
        backend,
        state,
        commands: new ShellCommandRunner({ sandboxFor: () => sandboxes.checks }),
        clock: systemClock,
        env: backendEnv,
        checkEnv,
        sandbox: sandboxes.agent,
        protectedFiles: fsProtectedFiles,
        redact,
        approvals: {
          async request(action: GatedAction, detail: string, signal?: AbortSignal) {
            const a = await api.requestApproval(runId, { action, detail, timeoutSec }, signal);
            return {
              approved: a.status === 'approved',
              reason: a.reason ?? (a.status === 'expired' ? 'timed out' : undefined),
            };
          },
        },
        transcriptFor: (n) => {
          const name = `${String(n).padStart(2, '0')}.jsonl`;
          return { absolute: join(attemptsDir, name), relative: `attempts/${name}` };
        },
        onEvent: (attempt: number, e: BackendEvent) => logs.add(attempt, `${e.kind}: ${e.text}`),
      },
      controller.signal,
    );
    logs.flush();
    await state.sync();
    await outbox.close();
    log(`run ${payload.run_id} ${outcome.status} (exit ${outcome.exitCode}): ${outcome.reason}`);
    return outcome.exitCode;
  } catch (err) {
    const code = controller.signal.aborted ? ExitCode.cancelled : exitCodeOf(err);
    log(`error: ${toUserMessage(err)}`);
    if (state) {
      const cancelled = code === ExitCode.cancelled;
      await state
        .report({
          type: 'run.finished',
          status: cancelled ? 'cancelled' : 'failed',
          outcome: { exit_code: code, reason: cancelled ? 'cancelled' : toUserMessage(err) },
        })
        .then(() => state?.sync())
        .catch(() => undefined);
    }
    return code;
  } finally {
    await core?.close().catch(() => undefined);
  }
}
