/**
 * `nexus-runner`: payload in, attempt loop, exit code out. One code path for every agent and
 * every runtime: a local child process today, a Kubernetes Job's container tomorrow.
 */
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { promptFileName } from '../src/core/transcripts.ts';
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
import type { PodConnection } from './pod.ts';
import { loadPayload } from './payload.ts';
import { cliEntry, writeGateShims, writeNexusShim } from './shim.ts';
import { buildSandboxes } from './sandbox.ts';
import { checkEnvironment, makeRedactor, secretValues } from '../src/core/check-env.ts';
import { fsProtectedFiles } from '../src/adapters/workspace/protected-files.ts';
import { RunnerState } from './state.ts';
import { prepareWorkspace } from './workspace.ts';
import { reportRunChange } from './change.ts';
import { LogBatcher } from './log-batcher.ts';
import { handAttachments } from './attachments.ts';

/**
 * What the runner has and the agent must not: its credentials, the payload, where the state
 * is. Other NEXUS_ settings (timeouts, test hooks, binaries) pass through.
 */
const RUNNER_ONLY_ENV =
  /^NEXUS_(RUN_CONFIG|RUN_CONFIG_FILE|USER_TOKEN|TOKEN|TOKEN_FILE|AGENT_TOKEN|CONNECT|STATE_DIR|WORKSPACE|RUNNER_DIR|ATTEMPTS_DIR|CONFIG_DIR|PLANE_[A-Z_]+|KEYS_DIR|INBOX_DIR|K8S_JOB|GIT_TOKEN|GIT_USERNAME)$/;

export async function runnerMain(
  argv: string[],
  envIn: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let env = envIn;
  const log = (line: string): void => {
    process.stderr.write(`[nexus-runner] ${line}\n`);
  };
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      'usage: nexus-runner --payload FILE|-   (or NEXUS_RUN_CONFIG / NEXUS_RUN_CONFIG_FILE)\n',
    );
    return ExitCode.ok;
  }
  const stage = argv.indexOf('--stage');
  if (stage >= 0) {
    const [src, dst] = [argv[stage + 1], argv[stage + 2]];
    if (!src || !dst) {
      log('usage: nexus-runner --stage SECRET_DIR KEYS_DIR');
      return ExitCode.badInput;
    }
    const { stageSecrets } = await import('./pod.ts');
    await stageSecrets(src, dst);
    return ExitCode.ok;
  }
  let payload: RunConfigPayload | undefined;
  let core: CoreConnection | undefined;
  let pod: PodConnection | undefined;
  let state: RunnerState | undefined;
  /** Set once the workspace is ready: reports the run's change (once) before it ends. */
  let reportChange: (() => Promise<void>) | undefined;
  let changeReported = false;
  const controller = new AbortController();
  const onSignal = (sig: string): void => {
    log(`${sig} received: cancelling the attempt`);
    controller.abort();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  try {
    if (argv.includes('--pod')) {
      // In a Kubernetes pod: the payload, key and credentials from the staged Secret; the
      // workspace in the pod's own volume; reports over core's bridge when the Secret names
      // one the pod reaches, else on stdout.
      const { takePodKeys, connectPodCore } = await import('./pod.ts');
      const keys = await takePodKeys(env.NEXUS_KEYS_DIR ?? '/var/run/nexus/keys');
      env = { ...env, ...keys.env, NEXUS_RUN_CONFIG: keys.payloadText };
      const loaded = await loadPayload([], env);
      const workDir = env.NEXUS_WORK_DIR ?? '/workspace';
      payload = { ...loaded, workspace: { ...loaded.workspace, cwd: join(workDir, 'repo') } };
      if (keys.bridge)
        core = await (await import('./pod-bridge.ts')).connectPodBridge(keys.bridge, env, log);
      if (!core) {
        pod = await connectPodCore(keys, { tmpDir: tmpdir(), inboxDir: env.NEXUS_INBOX_DIR, log });
        core = pod;
      }
    } else {
      payload = await loadPayload(argv, env);
      core = await connectCore(payload.workspace.cwd, payload.run_id, env, log);
    }
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
    const runnerState = state;
    pod?.setReporter((r) => runnerState.report(r));
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
      // In a pod, the Job is what core finds the runner by after a restart.
      host: env.NEXUS_K8S_JOB ? `k8s:${env.NEXUS_K8S_JOB}` : hostname(),
      sandbox: sandboxes.state,
      via: pod ? 'pod' : core.mode,
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
      // For the agent's information (a refusal names it); core computes depth from the parent.
      NEXUS_CALL_DEPTH: String(payload.call_depth ?? 0),
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
    state.flushLogs = () => logs.flush();
    const api = core.api;
    const runId = payload.run_id;
    const workspaceDir = payload.workspace.cwd;
    const timeoutSec = Number(env.NEXUS_APPROVAL_TIMEOUT_SEC ?? 900);
    const approvals = {
      async request(action: GatedAction, detail: string, signal?: AbortSignal) {
        const a = await api.requestApproval(runId, { action, detail, timeoutSec }, signal);
        return {
          approved: a.status === 'approved',
          reason: a.reason ?? (a.status === 'expired' ? 'timed out' : undefined),
        };
      },
    };
    const workedIn = payload;
    const stateDir = core.stateDir;
    reportChange = async () => {
      if (changeReported) return;
      changeReported = true;
      await reportRunChange({
        payload: workedIn,
        state: runnerState,
        exclude: stateDir ? [stateDir] : [],
        env,
        approvals,
        log,
      });
    };
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
        approvals,
        beforeFinish: reportChange,
        transcriptFor: (n) => {
          const name = `${String(n).padStart(2, '0')}.jsonl`;
          return { absolute: join(attemptsDir, name), relative: `attempts/${name}` };
        },
        keepPrompt: async (n, prompt) => {
          await mkdir(attemptsDir, { recursive: true, mode: 0o700 });
          await writeFile(join(attemptsDir, promptFileName(n)), prompt, { mode: 0o600 });
        },
        onEvent: (attempt: number, e: BackendEvent) => logs.add(attempt, `${e.kind}: ${e.text}`),
        handOver: async () => {
          const from = core?.attachments;
          if (!from) return [];
          // A file that cannot be handed over is logged; the attempt goes on without it.
          return handAttachments(from, runId, workspaceDir, log).catch((err: unknown) => {
            log(`attachments: ${toUserMessage(err)}`);
            return [];
          });
        },
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
      await reportChange?.().catch(() => undefined);
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
