/**
 * What the agent is told: the system prompt (role + skills + memory + how to use the task tool),
 * the first prompt (brief + message + checklist), and the nudge that starts every later attempt.
 */
import type {
  AgentDefinition,
  AssignmentDefinition,
  SkillDefinition,
} from './domain/definitions.ts';
import type { RunManifest, TaskState } from './domain/run.ts';
import { NexusError } from './errors.ts';

export function substituteVars(
  text: string,
  vars: Record<string, string | number | boolean>,
): string {
  return text.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

/** Resolves an assignment's typed vars from strings given by the user; names what is wrong. */
export function resolveVars(
  assignment: AssignmentDefinition | undefined,
  given: Record<string, string>,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const specs = assignment?.vars ?? {};
  for (const key of Object.keys(given)) {
    if (!(key in specs)) {
      const known = Object.keys(specs).join(', ') || 'none';
      throw new NexusError(
        'USAGE',
        `unknown var '${key}' for assignment ${assignment?.name ?? '(none)'} (vars: ${known})`,
      );
    }
  }
  for (const [key, spec] of Object.entries(specs)) {
    const raw = given[key];
    if (raw === undefined) {
      if (spec.default !== undefined) out[key] = spec.default;
      else if (spec.required)
        throw new NexusError('USAGE', `assignment ${assignment?.name ?? ''} needs --var ${key}=…`);
      continue;
    }
    // `--var feature=` (a shell variable that was never set, say) is no value: a required var
    // must not become an empty string in the brief, nor an empty number 0.
    if (raw.trim() === '' && (spec.required || spec.type !== 'string')) {
      throw new NexusError(
        'USAGE',
        `var ${key} of assignment ${assignment?.name ?? ''} is empty: give it a value (--var ${key}=…)${spec.description ? `: ${spec.description}` : ''}`,
        { var: key },
      );
    }
    if (spec.type === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n))
        throw new NexusError('USAGE', `var ${key} must be a number, got '${raw}'`);
      out[key] = n;
    } else if (spec.type === 'boolean') {
      if (!['true', 'false'].includes(raw))
        throw new NexusError('USAGE', `var ${key} must be true or false, got '${raw}'`);
      out[key] = raw === 'true';
    } else {
      out[key] = raw;
    }
  }
  return out;
}

export function taskToolInstructions(runId: string): string {
  return [
    '## Your task checklist',
    `This work is tracked as Nexus run ${runId}. Its checklist is the source of truth, not your final message.`,
    'Use the `nexus` command in your shell to read and update it (the run id comes from the environment):',
    '- `nexus task list` — every task with its status',
    '- `nexus task set <task-id> in_progress` when you start a task',
    '- `nexus task set <task-id> completed --note "<what you did>"` when it is done',
    '- `nexus task set <task-id> blocked --note "<why, and what would unblock it>"` if you cannot do it',
    '- `nexus task append-notes <task-id> "<text>"` to record findings',
    'A task marked completed is checked by its verify commands; if a check fails the task is reopened',
    'and you will be told why. Do not mark a task completed until it really is.',
  ].join('\n');
}

export function buildSystemPrompt(
  agent: AgentDefinition,
  skills: readonly SkillDefinition[],
  memory: readonly string[],
  runId: string,
): string {
  const parts = [agent.instructions.trim() || `You are the ${agent.name} agent.`];
  for (const s of skills) parts.push(`## Skill: ${s.name}\n${s.body.trim()}`);
  if (memory.length > 0) {
    parts.push(
      `## Relevant memory\nNotes a person approved for this kind of work, most relevant first:\n${memory.map((m) => `- ${m.replace(/\n/g, '\n  ')}`).join('\n')}`,
    );
  }
  parts.push(taskToolInstructions(runId));
  if (agent.memory.may_propose) parts.push(memoryProposalInstructions());
  return parts.join('\n\n');
}

/** Told only to an agent whose policy lets it propose. */
export function memoryProposalInstructions(): string {
  return [
    '## Proposing memory',
    'When you learn something later runs on this project should know (a command that works, a',
    'pitfall, a convention), propose it as one short, self-contained fact:',
    '- `nexus memory propose "<the fact>" [--scope project|global|agent] [--tags a,b]`',
    'A person reviews each proposal; it reaches no run until they approve it.',
  ].join('\n');
}

export function checklistText(tasks: readonly TaskState[]): string {
  return tasks
    .map((t) => {
      const head = `- [${t.status === 'completed' ? 'x' : ' '}] ${t.id}: ${t.title} (${t.status})`;
      return t.description ? `${head}\n  ${t.description.trim().replace(/\n/g, '\n  ')}` : head;
    })
    .join('\n');
}

export function buildFirstPrompt(
  m: Pick<RunManifest, 'message' | 'vars' | 'tasks'>,
  assignment: AssignmentDefinition | undefined,
): string {
  const parts: string[] = [];
  if (assignment?.brief) parts.push(substituteVars(assignment.brief, m.vars));
  if (m.message) parts.push(m.message);
  if (m.tasks.length > 0) parts.push(`## Tasks\n${checklistText(m.tasks)}`);
  else
    parts.push(
      'There is no task list yet: add tasks with `nexus task add "<title>"` as you plan, then work through them.',
    );
  return parts.join('\n\n');
}

/** The next attempt's prompt: exactly which tasks are not done, and why. */
export function buildNudge(
  unfinished: readonly TaskState[],
  attempt: number,
  maxAttempts: number,
): string {
  const lines = [
    `Attempt ${attempt} of ${maxAttempts}. The run is not done: these tasks are not verified complete.`,
  ];
  for (const t of unfinished) {
    let why: string;
    if (t.status === 'completed' || t.verification.state === 'failed') {
      const failed = t.verification.results.find((r) => !r.passed);
      why = failed
        ? `its check \`${failed.command}\` ${failed.timed_out ? 'timed out' : `failed (exit ${failed.exit_code})`}:\n${indent(failed.output.slice(-1500))}`
        : 'its checks failed';
    } else {
      why = t.status === 'in_progress' ? 'it is still in progress' : 'it was not started';
    }
    lines.push(`- ${t.id} (${t.title}): ${why}`);
  }
  lines.push(
    'Finish them, update the checklist with `nexus task set`, and stop when every task is completed or blocked.',
  );
  return lines.join('\n');
}

/** An attempt's prompt with the messages people left for the agent since the last one. */
export function withMessages(
  prompt: string,
  messages: readonly { by: string; text: string; via?: string | undefined }[],
): string {
  if (messages.length === 0) return prompt;
  const lines = messages.map(
    (m) => `- ${m.by}${m.via ? ` (via ${m.via})` : ''}:\n${indent(m.text)}`,
  );
  return `${prompt}\n\nMessages from people following this run (they are requests, not verified facts; the checklist still decides what is done):\n${lines.join('\n')}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
