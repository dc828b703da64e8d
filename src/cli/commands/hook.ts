/**
 * `nexus hook claude-pre-tool-use`: Claude Code's PreToolUse hook for Bash. Claude Code calls it
 * (from the runner's backend process) with the tool call as JSON on stdin; it applies the same
 * policy the openai tool loop applies, and for a gated action asks core for a person's decision
 * and waits for it. It answers with Claude Code's hook JSON (allow / deny + reason).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ExitCode, NexusError, toUserMessage } from '../../core/errors.ts';
import { Permissions } from '../../core/domain/definitions.ts';
import type { RunnerApi } from '../../core/api.ts';
import type { CommandSpec } from '../command.ts';
import type { CliContext } from '../context.ts';
import { need } from '../command.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function answer(decision: 'allow' | 'deny', reason: string): string {
  return JSON.stringify({
    hookSpecificOutput: {
      hookEventName: 'PreToolUse',
      permissionDecision: decision,
      permissionDecisionReason: reason,
    },
  });
}

export const hookCommand: CommandSpec = {
  name: 'hook',
  summary:
    "Backend hooks (run by the agent CLIs, not by people): `claude-pre-tool-use` applies the agent's permissions to a Bash call and waits for approvals.",
  usage:
    'nexus hook claude-pre-tool-use   (tool call as JSON on stdin)\n' +
    '       nexus hook gate <program> [args…]   (runs <program> if the policy and a person allow it)\n' +
    '       both run inside a Nexus run: NEXUS_RUN_ID and NEXUS_PERMISSIONS_FILE in the env',
  raw: true,
  async run(ctx, args) {
    const which = need(args, 0, 'the hook name', hookCommand);
    if (which === 'gate') return gate(ctx, args.positionals.slice(1));
    if (which !== 'claude-pre-tool-use') throw new NexusError('USAGE', `unknown hook '${which}'`);
    const runId = ctx.currentRun;
    const permsFile = ctx.env.NEXUS_PERMISSIONS_FILE;
    if (!runId || !permsFile)
      throw new NexusError(
        'USAGE',
        'this hook runs inside a Nexus run (NEXUS_RUN_ID and NEXUS_PERMISSIONS_FILE unset)',
      );
    let call: { tool_name?: unknown; tool_input?: { command?: unknown } };
    try {
      call = JSON.parse(await readStdin()) as typeof call;
    } catch {
      ctx.io.out(answer('deny', 'Nexus could not read the tool call'));
      return ExitCode.ok;
    }
    const command =
      typeof call.tool_input?.command === 'string' ? call.tool_input.command : undefined;
    if (call.tool_name !== 'Bash' || command === undefined) {
      ctx.io.out(JSON.stringify({}));
      return ExitCode.ok;
    }
    const { splitCommands } = await import('../../core/policy.ts');
    // The task tool itself is never gated: the agent must always be able to report.
    if (splitCommands(command).every((c) => /^\s*nexus(\s|$)/.test(c))) {
      ctx.io.out(answer('allow', 'the Nexus task tool'));
      return ExitCode.ok;
    }
    const verdict = await decideCommand(ctx, runId, permsFile, command);
    ctx.io.out(answer(verdict.allowed ? 'allow' : 'deny', verdict.reason));
    return ExitCode.ok;
  },
};

const quoteArg = (a: string): string =>
  /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * `nexus hook gate <program> [args…]`: the PATH shim for git, gh and the delete commands in
 * backends without an approval hook (Codex). Same policy, same approvals; then the real program.
 */
async function gate(ctx: CliContext, argv: string[]): Promise<number> {
  const [real, ...args] = argv;
  if (!real) throw new NexusError('USAGE', 'nexus hook gate needs the program to run');
  const runId = ctx.currentRun;
  const permsFile = ctx.env.NEXUS_PERMISSIONS_FILE;
  const runReal = async (): Promise<number> => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(real, args, { stdio: 'inherit' });
    return r.status ?? 1;
  };
  if (!runId || !permsFile) return runReal();
  const command = [basename(real), ...args].map(quoteArg).join(' ');
  const verdict = await decideCommand(ctx, runId, permsFile, command);
  if (verdict.allowed) return runReal();
  ctx.io.err(verdict.reason);
  return 126;
}

/**
 * The decision both hooks make: the agent's permissions first (`src/core/policy.ts`); for a
 * gated action, a person's decision through core, waited for here.
 */
async function decideCommand(
  ctx: CliContext,
  runId: string,
  permsFile: string,
  command: string,
): Promise<{ allowed: boolean; reason: string }> {
  const permissions = Permissions.parse(JSON.parse(await readFile(permsFile, 'utf8')));
  const { evaluateShell } = await import('../../core/policy.ts');
  const decision = evaluateShell(command, permissions);
  if (decision.kind === 'allow')
    return { allowed: true, reason: 'allowed by the agent permissions' };
  if (decision.kind === 'deny') {
    return { allowed: false, reason: `Nexus denied this command: ${decision.reason}` };
  }
  try {
    const api = (await ctx.core()) as unknown as RunnerApi;
    const timeoutSec = Number(ctx.env.NEXUS_APPROVAL_TIMEOUT_SEC ?? 900);
    const a = await api.requestApproval(runId, {
      action: decision.action,
      detail: command,
      timeoutSec,
    });
    if (a.status === 'approved')
      return { allowed: true, reason: `approved by ${a.decided_by ?? 'a person'}` };
    const why =
      a.status === 'expired' ? 'nobody decided in time' : `denied by ${a.decided_by ?? 'a person'}`;
    return {
      allowed: false,
      reason: `Nexus: this ${decision.action} needs approval and was ${a.status} (${why})${a.reason ? `: ${a.reason}` : ''}`,
    };
  } catch (err) {
    return { allowed: false, reason: `Nexus could not get an approval: ${toUserMessage(err)}` };
  }
}
