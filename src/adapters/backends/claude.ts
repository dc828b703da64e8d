/**
 * The `claude` backend: Claude Code in print mode with stream-json output. The prompt goes in
 * on stdin and the system prompt through `--append-system-prompt-file`, so neither is limited
 * by Linux's 128 KiB per-argument cap. Permissions become `--allowedTools`/`--disallowedTools`
 * rules (as root the skip-permissions flag is refused, and rules are the narrower grant anyway).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { GatedAction, Permissions } from '../../core/domain/definitions.ts';
import type { Usage } from '../../core/domain/run.ts';
import type { AttemptInput, AttemptResult, Backend } from '../../core/ports.ts';
import { classifyFailure } from './classify.ts';
import {
  attemptEnv,
  failed,
  num,
  obj,
  parseJsonLine,
  processFailure,
  resolveBin,
  str,
  type BackendOptions,
} from './common.ts';
import { DEFAULT_KILL_GRACE_MS, runStreamed } from './process.ts';

/** Bash rules that stand for each gated action (Claude matches each part of a `&&` chain). */
const ACTION_RULES: Record<Exclude<GatedAction, 'shell'>, string[]> = {
  commit: ['git commit', 'git * commit'],
  push: ['git push', 'git * push'],
  merge: ['git merge', 'git * merge', 'gh pr merge'],
  delete_files: ['rm', 'rmdir', 'unlink', 'git rm', 'git clean', 'find * -delete'],
  pr: ['gh pr create'],
};
const ACTION_FLAG: Record<Exclude<GatedAction, 'shell'>, keyof Permissions> = {
  commit: 'can_commit',
  push: 'can_push',
  merge: 'can_merge',
  delete_files: 'can_delete_files',
  pr: 'can_push',
};

/** Agent tool names → Claude Code built-in tools. Bash is always on: the task tool is a CLI. */
function claudeTools(tools: readonly string[]): string[] {
  const out = new Set(['Bash']);
  for (const t of tools) {
    if (t === 'files') ['Read', 'Write', 'Edit', 'Glob', 'Grep'].forEach((x) => out.add(x));
    else if (/^[A-Z][A-Za-z]+$/.test(t)) out.add(t); // a Claude tool named directly
  }
  return [...out];
}

/** `--allowedTools` / `--disallowedTools` for the agent's permissions. */
export function permissionRules(
  permissions: Permissions,
  tools: readonly string[],
): { allowed: string[]; disallowed: string[] } {
  const bash = (p: string): string => `Bash(${p})`;
  const allowed = claudeTools(tools).filter((t) => t !== 'Bash');
  if (permissions.shell.allow.length === 0) allowed.push('Bash');
  else allowed.push(...permissions.shell.allow.map(bash), bash('nexus *'));
  const disallowed = permissions.shell.deny.map(bash);
  for (const [action, rules] of Object.entries(ACTION_RULES) as [
    Exclude<GatedAction, 'shell'>,
    string[],
  ][]) {
    // An action that needs a person's approval is left to the PreToolUse hook, which asks core
    // and waits; one neither permitted nor listed for approval is refused outright.
    if (permissions.requires_approval_for.includes(action)) continue;
    if (permissions[ACTION_FLAG[action]] !== true) {
      for (const r of rules) disallowed.push(bash(r), bash(`${r} *`));
    }
  }
  return { allowed, disallowed };
}

export class ClaudeBackend implements Backend {
  readonly name = 'claude' as const;
  private readonly killGraceMs: number;

  constructor(options: BackendOptions = {}) {
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  }

  async runAttempt(input: AttemptInput): Promise<AttemptResult> {
    const bin = resolveBin(input, 'NEXUS_CLAUDE_BIN', 'claude');
    const env = attemptEnv(input);
    env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = '1';
    if (input.settings.base_url !== undefined) env.ANTHROPIC_BASE_URL = input.settings.base_url;
    const keyVar = input.settings.api_key_env;
    if (keyVar !== undefined && env[keyVar] !== undefined) env.ANTHROPIC_API_KEY = env[keyVar];

    const { allowed, disallowed } = permissionRules(input.permissions, input.tools);
    const args = [
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--tools',
      claudeTools(input.tools).join(','),
      '--allowedTools',
      allowed.join(','),
    ];
    if (disallowed.length > 0) args.push('--disallowedTools', disallowed.join(','));
    if (input.model !== undefined) args.push('--model', input.model);
    if (input.systemPrompt.trim()) {
      const file = `${input.transcriptPath}.system.md`;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, input.systemPrompt, { mode: 0o600 });
      args.push('--append-system-prompt-file', file);
    }
    if (input.permissions.requires_approval_for.length > 0) {
      // Gated actions go through `nexus hook claude-pre-tool-use`: the same policy as every
      // backend, and a person's decision through core for anything in requires_approval_for.
      const permsFile = `${input.transcriptPath}.permissions.json`;
      const settingsFile = `${input.transcriptPath}.settings.json`;
      mkdirSync(dirname(permsFile), { recursive: true });
      writeFileSync(permsFile, JSON.stringify(input.permissions), { mode: 0o600 });
      const waitSec = Number(env.NEXUS_APPROVAL_TIMEOUT_SEC ?? 900) + 60;
      writeFileSync(
        settingsFile,
        JSON.stringify({
          hooks: {
            PreToolUse: [
              {
                matcher: 'Bash',
                hooks: [
                  { type: 'command', command: 'nexus hook claude-pre-tool-use', timeout: waitSec },
                ],
              },
            ],
          },
        }),
        { mode: 0o600 },
      );
      env.NEXUS_PERMISSIONS_FILE = permsFile;
      args.push('--settings', settingsFile);
    }
    if (input.sessionId !== undefined) args.push('--resume', input.sessionId);
    args.push(...input.settings.args);

    let sessionId = input.sessionId;
    let result: Record<string, unknown> | undefined;
    let lastText: string | undefined;
    let apiError: string | undefined;
    // The CLI reads its settings and system prompt next to the transcript, and keeps its own
    // state in its config dir: those it may reach from inside the sandbox, nothing else of ours.
    const configDir = env.CLAUDE_CONFIG_DIR;
    const home = env.HOME ?? homedir();
    const claudeHome = configDir ?? join(home, '.claude');
    // The sandbox can only let through what exists: on a first run (a fresh machine, a new
    // pod) the CLI's home must be there before it starts, or its session is written into the
    // sandbox's throwaway /tmp and the next attempt cannot resume it.
    mkdirSync(claudeHome, { recursive: true });
    if (!configDir && !existsSync(join(home, '.claude.json'))) {
      try {
        writeFileSync(join(home, '.claude.json'), '{}\n', { flag: 'wx', mode: 0o600 });
      } catch {
        // Another attempt made it first.
      }
    }
    const wrapped = input.sandbox.wrap(bin, args, {
      // Its settings, instructions and commands stay read-only: a hook the agent planted there
      // would run in the person's own later sessions.
      readable: [
        dirname(input.transcriptPath),
        ...['settings.json', 'settings.local.json', 'CLAUDE.md', 'commands', 'agents', 'hooks'].map(
          (f) => join(claudeHome, f),
        ),
      ],
      writable: configDir ? [configDir] : [claudeHome, join(home, '.claude.json')],
    });
    const outcome = await runStreamed({
      bin: wrapped.bin,
      args: wrapped.args,
      cwd: input.cwd,
      env,
      stdin: input.prompt,
      signal: input.signal,
      timeoutMs: input.timeoutMs,
      killGraceMs: this.killGraceMs,
      transcriptPath: input.transcriptPath,
      onStderr: (text) => input.onEvent({ kind: 'stderr', text }),
      onLine: (line) => {
        const ev = parseJsonLine(line);
        if (!ev) return;
        sessionId = str(ev.session_id) ?? sessionId;
        if (ev.type === 'system' && ev.subtype === 'init') {
          input.onEvent({ kind: 'status', text: `claude session ${String(ev.session_id)}` });
        } else if (ev.type === 'assistant') {
          const message = obj(ev.message);
          if (typeof ev.error === 'string') apiError = ev.error;
          for (const block of blocksOf(message.content)) {
            if (block.type === 'text' && typeof block.text === 'string') {
              lastText = block.text;
              input.onEvent({ kind: 'text', text: block.text });
            } else if (block.type === 'tool_use') {
              input.onEvent({ kind: 'tool', text: describeToolUse(block) });
            }
          }
        } else if (ev.type === 'user') {
          for (const block of blocksOf(obj(ev.message).content)) {
            if (block.type === 'tool_result') {
              input.onEvent({ kind: 'tool_result', text: resultText(block.content) });
            }
          }
        } else if (ev.type === 'result') {
          result = ev;
        }
      },
    });

    const usage = result ? usageOf(result) : undefined;
    const finalText = (result ? str(result.result) : undefined) ?? lastText;
    const partial = { sessionId, usage, finalText };
    const stopped = processFailure(outcome, input, bin);
    if (stopped) return failed(stopped, partial);
    if (result && result.is_error !== true && outcome.exitCode === 0) {
      return { ok: true, sessionId, usage, finalText, failure: undefined };
    }
    const status = result ? num(result.api_error_status) || undefined : undefined;
    const message = [
      result
        ? (str(result.result) ?? (Array.isArray(result.errors) ? result.errors.join('; ') : ''))
        : '',
      apiError ?? '',
      result ? '' : `claude exited with code ${String(outcome.exitCode)}`,
      outcome.stderrTail.trim().split('\n').slice(-5).join('\n'),
    ]
      .filter(Boolean)
      .join('\n');
    return failed(classifyFailure(message, status), partial);
  }
}

function blocksOf(content: unknown): Record<string, unknown>[] {
  return Array.isArray(content) ? content.map(obj) : [];
}

function describeToolUse(block: Record<string, unknown>): string {
  const input = obj(block.input);
  const name = str(block.name) ?? 'tool';
  return typeof input.command === 'string'
    ? `${name}: ${input.command}`
    : `${name}: ${JSON.stringify(input)}`;
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  return blocksOf(content)
    .map((b) => str(b.text) ?? '')
    .join('\n');
}

function usageOf(result: Record<string, unknown>): Usage {
  const u = obj(result.usage);
  const usage: Usage = {
    input_tokens: num(u.input_tokens) + num(u.cache_creation_input_tokens),
    output_tokens: num(u.output_tokens),
    cache_read_tokens: num(u.cache_read_input_tokens),
  };
  if (typeof result.total_cost_usd === 'number') usage.cost_usd = result.total_cost_usd;
  return usage;
}
