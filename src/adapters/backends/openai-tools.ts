/**
 * The tools Nexus's own loop gives an OpenAI-compatible model: shell, file tools and the task
 * tools. Every refusal (policy, approval, path outside the workspace, bad arguments) comes back
 * to the model as an `error: …` string, never as a thrown error: the model can correct course.
 */
import { mkdir, readdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import { evaluateShell } from '../../core/policy.ts';
import type { AttemptInput } from '../../core/ports.ts';
import { runStreamed } from './process.ts';

const OUTPUT_LIMIT = 16_000;
const DEFAULT_SHELL_TIMEOUT_SEC = 120;
const READ_LIMIT = 256_000;

const fn = (
  name: string,
  description: string,
  properties: Record<string, unknown>,
  required: string[],
): ChatCompletionTool => ({
  type: 'function',
  function: {
    name,
    description,
    parameters: { type: 'object', properties, required, additionalProperties: false },
  },
});
const s = (description: string): Record<string, string> => ({ type: 'string', description });

const SHELL = fn(
  'shell',
  'Run a bash command in the workspace. Returns exit code and output (trimmed).',
  {
    command: s('The command line, run with bash -c in the workspace'),
    timeout_sec: { type: 'number', description: 'Time limit in seconds (default 120)' },
  },
  ['command'],
);
const FILE_TOOLS = [
  fn(
    'read_file',
    'Read a text file in the workspace.',
    { path: s('Path relative to the workspace') },
    ['path'],
  ),
  fn(
    'write_file',
    'Create or overwrite a file in the workspace.',
    { path: s('Path relative to the workspace'), content: s('The full new content') },
    ['path', 'content'],
  ),
  fn(
    'edit_file',
    'Replace one exact occurrence of old_string with new_string in a file.',
    {
      path: s('Path relative to the workspace'),
      old_string: s('Exact text to replace; must occur exactly once'),
      new_string: s('Replacement text'),
    },
    ['path', 'old_string', 'new_string'],
  ),
  fn('list_files', 'List a directory in the workspace.', { path: s('Directory (default .)') }, []),
];
const TASK_TOOLS = [
  fn('task_list', "List this run's tasks and their states.", {}, []),
  fn(
    'task_set',
    "Set a task's status. `completed` is only accepted after the task's checks pass.",
    {
      task: s('Task id'),
      status: { type: 'string', enum: ['pending', 'in_progress', 'completed', 'blocked'] },
      note: s('Why (optional)'),
    },
    ['task', 'status'],
  ),
  fn('task_append_notes', 'Append a note to a task.', { task: s('Task id'), note: s('The note') }, [
    'task',
    'note',
  ]),
];

/** Granted (as the `memory` tool) only to an agent whose policy has `memory.may_propose`. */
const MEMORY_PROPOSE = fn(
  'memory_propose',
  'Propose one short fact for later runs on this project to remember (a command that works, a pitfall, a convention). A person reviews it; no run sees it before they approve.',
  {
    text: s('The fact, self-contained'),
    scope: {
      type: 'string',
      enum: ['project', 'global', 'agent'],
      description: 'project (default), global (every project), agent (only you)',
    },
    tags: { type: 'array', items: { type: 'string' }, description: 'Keywords (optional)' },
  },
  ['text'],
);

/**
 * Granted (as the `agents` tool) to an agent that may hand work to another: a child run of this
 * one, through the agent's own `nexus run` — so core records the parent from the agent's token
 * and caps the depth, exactly as for `nexus run` typed in its shell.
 */
const ASK_AGENT = fn(
  'ask_agent',
  'Hand a piece of work to another agent: starts it as a child run of this one, waits for it to end, and returns its structured result (status, exit_code, tasks with their verification, notes). Only verified tasks count as done. Nested calls are capped in depth.',
  {
    agent: s('The agent to ask (a name from the project)'),
    assignment: s('An assignment for it (optional): its tasks and checks'),
    message: s('What to do, in words (optional with an assignment)'),
  },
  ['agent'],
);

/** How long `ask_agent` waits for the child at most (the attempt's own limit cuts it shorter). */
const ASK_AGENT_TIMEOUT_MS = 60 * 60_000;

/** The tool definitions for an agent's `tools` list (task tools always). */
export function toolDefinitions(tools: readonly string[]): ChatCompletionTool[] {
  const out: ChatCompletionTool[] = [];
  if (tools.includes('shell')) out.push(SHELL);
  if (tools.includes('files')) out.push(...FILE_TOOLS);
  out.push(...TASK_TOOLS);
  if (tools.includes('memory')) out.push(MEMORY_PROPOSE);
  if (tools.includes('agents')) out.push(ASK_AGENT);
  return out;
}

export interface ToolContext {
  input: AttemptInput;
  env: Record<string, string>;
  killGraceMs: number;
}

/** Runs one tool call; the returned string is what the model sees. */
export async function runTool(name: string, rawArgs: string, ctx: ToolContext): Promise<string> {
  let args: Record<string, unknown>;
  try {
    args = rawArgs.trim() ? (JSON.parse(rawArgs) as Record<string, unknown>) : {};
  } catch {
    return `error: the arguments of ${name} are not valid JSON`;
  }
  const text = (key: string): string => {
    const v = args[key];
    if (typeof v !== 'string') throw new ToolError(`'${key}' must be a string`);
    return v;
  };
  const allowed = definitionsFor(ctx.input.tools).has(name);
  if (!allowed) return `error: unknown tool '${name}'`;
  try {
    switch (name) {
      case 'shell':
        return await shell(text('command'), Number(args.timeout_sec) || undefined, ctx);
      case 'read_file': {
        const body = await readFile(await insideCwd(ctx, text('path')), 'utf8');
        return body.length > READ_LIMIT
          ? `${body.slice(0, READ_LIMIT)}\n… (truncated: ${body.length} chars)`
          : body;
      }
      case 'write_file': {
        const path = await insideCwd(ctx, text('path'));
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, text('content'));
        return `wrote ${relative(ctx.input.cwd, path)}`;
      }
      case 'edit_file':
        return await editFile(ctx, text('path'), text('old_string'), text('new_string'));
      case 'list_files': {
        const dir = await insideCwd(ctx, typeof args.path === 'string' ? args.path : '.');
        const entries = await readdir(dir, { withFileTypes: true });
        return (
          entries
            .slice(0, 500)
            .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
            .sort()
            .join('\n') || '(empty)'
        );
      }
      case 'task_list':
        return await nexus(ctx, ['task', 'list', runId(ctx)]);
      case 'task_set': {
        const cli = ['task', 'set', runId(ctx), text('task'), text('status')];
        if (typeof args.note === 'string' && args.note) cli.push(`--note=${args.note}`);
        return await nexus(ctx, cli);
      }
      case 'task_append_notes':
        return await nexus(ctx, [
          'task',
          'append-notes',
          '--',
          runId(ctx),
          text('task'),
          text('note'),
        ]);
      case 'memory_propose': {
        // Through the agent's own `nexus` and token, like the task tools: core decides.
        const cli = ['memory', 'propose'];
        if (typeof args.scope === 'string' && args.scope) cli.push(`--scope=${args.scope}`);
        if (Array.isArray(args.tags) && args.tags.length)
          cli.push(`--tags=${args.tags.filter((t) => typeof t === 'string').join(',')}`);
        return await nexus(ctx, [...cli, '--', text('text')]);
      }
      case 'ask_agent': {
        const cli = ['run', '--wait', '--json', `--agent=${text('agent')}`];
        if (typeof args.assignment === 'string' && args.assignment)
          cli.push(`--assignment=${args.assignment}`);
        if (typeof args.message === 'string' && args.message) cli.push('--', args.message);
        return await nexus(ctx, cli, Math.min(ASK_AGENT_TIMEOUT_MS, ctx.input.timeoutMs));
      }
      default:
        return `error: unknown tool '${name}'`;
    }
  } catch (err) {
    return `error: ${err instanceof Error ? err.message : String(err)}`;
  }
}

class ToolError extends Error {}

const definitionsFor = (tools: readonly string[]): Set<string> =>
  new Set(toolDefinitions(tools).map((t) => (t.type === 'function' ? t.function.name : '')));

function runId(ctx: ToolContext): string {
  const id = ctx.env.NEXUS_RUN_ID ?? ctx.input.runId;
  if (!id) throw new ToolError('no run id (NEXUS_RUN_ID is not set)');
  return id;
}

/** Resolves a path and refuses anything outside the workspace (symlinks included). */
async function insideCwd(ctx: ToolContext, path: string): Promise<string> {
  const root = await realpath(ctx.input.cwd);
  const abs = resolve(root, path);
  const check = (p: string): void => {
    const rel = relative(root, p);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new ToolError(`'${path}' is outside the workspace; use paths inside it`);
    }
  };
  check(abs);
  refuseNexusDir(root, abs, path);
  // The nearest existing ancestor decides where a symlink really leads.
  let probe = abs;
  for (;;) {
    try {
      const real = await realpath(probe);
      check(real);
      refuseNexusDir(root, real, path);
      break;
    } catch (err) {
      if (err instanceof ToolError) throw err;
      const up = dirname(probe);
      if (up === probe) break;
      probe = up;
    }
  }
  return abs;
}

/**
 * The file tools run in the runner's own process, outside the sandbox: they must not reach
 * Nexus's own files in the workspace (`.nexus/`: definitions and the run state).
 */
function refuseNexusDir(root: string, abs: string, shown: string): void {
  const rel = relative(root, abs);
  if (rel === '.nexus' || rel.startsWith(`.nexus${sep}`)) {
    throw new ToolError(
      `'${shown}' is inside .nexus/, which holds Nexus's own state; leave it alone`,
    );
  }
}

async function editFile(ctx: ToolContext, path: string, from: string, to: string): Promise<string> {
  const abs = await insideCwd(ctx, path);
  const body = await readFile(abs, 'utf8');
  if (!from) return 'error: old_string is empty';
  const count = body.split(from).length - 1;
  if (count === 0) return `error: old_string not found in ${path}`;
  if (count > 1) return `error: old_string occurs ${count} times in ${path}; make it unique`;
  await writeFile(
    abs,
    body.replace(from, () => to),
  );
  return `edited ${path}`;
}

async function shell(
  command: string,
  timeoutSec: number | undefined,
  ctx: ToolContext,
): Promise<string> {
  const decision = evaluateShell(command, ctx.input.permissions);
  if (decision.kind === 'deny') return `error: command refused by policy: ${decision.reason}`;
  if (decision.kind === 'ask') {
    const answer = await ctx.input.approvals.request(decision.action, command, ctx.input.signal);
    if (!answer.approved) {
      return `error: ${decision.reason} and was not approved${answer.reason ? `: ${answer.reason}` : ''}`;
    }
  }
  let output = '';
  const add = (line: string): void => {
    // Keep the head and a growing tail; trimmed once at the end.
    output += `${line}\n`;
    if (output.length > OUTPUT_LIMIT * 4)
      output = output.slice(0, OUTPUT_LIMIT) + output.slice(-OUTPUT_LIMIT * 2);
  };
  const timeoutMs = (timeoutSec ?? DEFAULT_SHELL_TIMEOUT_SEC) * 1000;
  const wrapped = ctx.input.sandbox.wrap('bash', ['-c', command]);
  const outcome = await runStreamed({
    bin: wrapped.bin,
    args: wrapped.args,
    cwd: ctx.input.cwd,
    env: ctx.env,
    stdin: undefined,
    signal: ctx.input.signal,
    timeoutMs,
    killGraceMs: ctx.killGraceMs,
    transcriptPath: undefined,
    onLine: add,
    onStderr: add,
  });
  const status = outcome.cancelled
    ? 'cancelled'
    : outcome.timedOut
      ? `timed out after ${timeoutMs / 1000}s`
      : outcome.spawnError
        ? `could not start bash: ${outcome.spawnError}`
        : `exit code ${String(outcome.exitCode ?? outcome.signal)}`;
  return `${status}\n${trimOutput(output)}`;
}

/** Keeps the first and last parts of long output. */
export function trimOutput(text: string, limit = OUTPUT_LIMIT): string {
  if (text.length <= limit) return text;
  const head = Math.floor(limit / 4);
  return `${text.slice(0, head)}\n… (${text.length - limit} chars omitted) …\n${text.slice(-(limit - head))}`;
}

async function nexus(ctx: ToolContext, args: string[], timeoutMs = 60_000): Promise<string> {
  const outcomeLines: string[] = [];
  const wrapped = ctx.input.sandbox.wrap('nexus', args);
  const outcome = await runStreamed({
    bin: wrapped.bin,
    args: wrapped.args,
    cwd: ctx.input.cwd,
    env: ctx.env,
    stdin: undefined,
    signal: ctx.input.signal,
    timeoutMs,
    killGraceMs: ctx.killGraceMs,
    transcriptPath: undefined,
    onLine: (l) => outcomeLines.push(l),
    onStderr: (l) => outcomeLines.push(l),
  });
  const out = trimOutput(outcomeLines.join('\n'));
  if (outcome.spawnError) return `error: cannot run the nexus task tool: ${outcome.spawnError}`;
  return outcome.exitCode === 0
    ? out || 'ok'
    : `error: exit code ${String(outcome.exitCode)}\n${out}`;
}
