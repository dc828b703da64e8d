/**
 * Task transitions on a manifest: pure functions that return the events they cause. The store
 * applies them under the lock; the same code serves the CLI, the bridge and the runner.
 */
import type { NewEvent } from './domain/events.ts';
import type { NoteEntry, RunManifest, TaskState, TaskStatus } from './domain/run.ts';
import { TASK_ID_PATTERN, isTerminalRunStatus, passiveAgain } from './domain/run-states.ts';
import type { TaskTemplate } from './domain/definitions.ts';
import { NexusError } from './errors.ts';

/** Notes kept in the manifest per task; older ones remain in events.jsonl. */
export const MAX_NOTES_PER_TASK = 50;
/** One note's size limit in the manifest, characters. */
export const MAX_NOTE_CHARS = 8000;

export function findTask(m: RunManifest, taskId: string): TaskState {
  const task = m.tasks.find((t) => t.id === taskId);
  if (!task) {
    const known = m.tasks.map((t) => t.id).join(', ') || 'none';
    throw new NexusError(
      'TASK_NOT_FOUND',
      `run ${m.id} has no task '${taskId}' (tasks: ${known})`,
      {
        run: m.id,
        task: taskId,
      },
    );
  }
  return task;
}

export function assertMutable(m: RunManifest): void {
  if (isTerminalRunStatus(m.status)) {
    throw new NexusError(
      'RUN_STATE_CONFLICT',
      `run ${m.id} has ended (${m.status}); its tasks can no longer change. ${
        m.agent.backend === 'passive'
          ? passiveAgain(m)
          : `Resume it with 'nexus run --resume ${m.id.slice(0, 8)}'.`
      }`,
      { run: m.id, status: m.status },
    );
  }
}

/**
 * How to work an ended passive run again. Not `--resume`: there is no backend session to
 * continue, and resuming a passive run has nothing to start.
 */

export { passiveAgain };

export function trimNote(text: string): string {
  if (text.length <= MAX_NOTE_CHARS) return text;
  const keep = MAX_NOTE_CHARS - 40;
  return `[… ${text.length - keep} characters trimmed …]\n${text.slice(text.length - keep)}`;
}

/**
 * A note a person or the agent writes is kept whole or refused: never cut to a fraction of
 * itself. (Check output, which Nexus writes, keeps its tail with a marker instead.)
 */
export function assertNoteFits(text: string): void {
  if (text.length <= MAX_NOTE_CHARS) return;
  throw new NexusError(
    'TASK_INVALID',
    `a note is at most ${MAX_NOTE_CHARS} characters and this one has ${text.length}: put long output in a file in the workspace and name the file in the note`,
    { limit: MAX_NOTE_CHARS, length: text.length },
  );
}

function pushNote(task: TaskState, note: NoteEntry): void {
  task.notes.push(note);
  if (task.notes.length > MAX_NOTES_PER_TASK)
    task.notes.splice(0, task.notes.length - MAX_NOTES_PER_TASK);
}

export function taskFromTemplate(
  t: TaskTemplate,
  now: string,
  source: TaskState['source'] = 'assignment',
): TaskState {
  return {
    id: t.id,
    title: t.title,
    ...(t.description ? { description: t.description } : {}),
    status: 'pending',
    verify: t.verify,
    verification: { state: t.verify.length > 0 ? 'pending' : 'none', results: [] },
    notes: [],
    updated_at: now,
    source,
    protect: t.protect,
  };
}

export function setTaskStatus(
  m: RunManifest,
  taskId: string,
  status: TaskStatus,
  opts: { note?: string | undefined; by: string; now: string },
): NewEvent[] {
  assertMutable(m);
  const task = findTask(m, taskId);
  const previous = task.status;
  task.status = status;
  task.updated_at = opts.now;
  if (status === 'completed') {
    // Marking completed never bypasses the checks: they run before the task counts as verified.
    task.verification = { state: task.verify.length > 0 ? 'pending' : 'none', results: [] };
  } else if (task.verification.state === 'passed') {
    task.verification = { state: 'pending', results: [] };
  }
  const events: NewEvent[] = [
    { type: 'nexus.task.updated', data: { task: taskId, status, previous, by: opts.by } },
  ];
  if (opts.note) {
    assertNoteFits(opts.note);
    const text = opts.note;
    pushNote(task, { at: opts.now, by: opts.by, text });
    events.push({ type: 'nexus.task.notes', data: { task: taskId, text, by: opts.by } });
  }
  return events;
}

export function appendTaskNote(
  m: RunManifest,
  taskId: string,
  text: string,
  by: string,
  now: string,
): NewEvent[] {
  if (!text.trim()) throw new NexusError('TASK_INVALID', 'a note cannot be empty');
  assertNoteFits(text);
  const task = findTask(m, taskId);
  const trimmed = text;
  pushNote(task, { at: now, by, text: trimmed });
  task.updated_at = now;
  return [{ type: 'nexus.task.notes', data: { task: taskId, text: trimmed, by } }];
}

export function addTask(
  m: RunManifest,
  spec: {
    id?: string | undefined;
    title: string;
    description?: string | undefined;
    verify?: string[] | undefined;
  },
  by: string,
  now: string,
): { task: TaskState; events: NewEvent[] } {
  assertMutable(m);
  if (!spec.title.trim()) throw new NexusError('TASK_INVALID', 'a task needs a title');
  const id = spec.id ?? nextTaskId(m);
  if (!TASK_ID_PATTERN.test(id)) {
    throw new NexusError(
      'TASK_INVALID',
      `task id '${id}' is invalid: use letters, digits, dot, dash or underscore`,
    );
  }
  if (m.tasks.some((t) => t.id === id)) {
    throw new NexusError('TASK_INVALID', `run ${m.id} already has a task '${id}'`, { task: id });
  }
  // A command given here is a check as a definition's string form is (definition-parts.ts's
  // VerifyCheck), checked by hand: this module is on the agent's path, which builds no schemas.
  const verify = (spec.verify ?? []).map((run) => {
    if (typeof run !== 'string' || run.length === 0)
      throw new NexusError('TASK_INVALID', 'a verify command must be a non-empty string');
    return { run };
  });
  const task = taskFromTemplate(
    {
      id,
      title: spec.title.trim(),
      ...(spec.description ? { description: spec.description } : {}),
      verify,
      protect: [],
    },
    now,
    'added',
  );
  m.tasks.push(task);
  return {
    task,
    events: [{ type: 'nexus.task.added', data: { task: id, title: task.title, by } }],
  };
}

function nextTaskId(m: RunManifest): string {
  let n = m.tasks.length + 1;
  while (m.tasks.some((t) => t.id === `task-${n}`)) n++;
  return `task-${n}`;
}

/** All tasks are completed or blocked: the run can be judged. */
export const allTasksSettled = (m: RunManifest): boolean =>
  m.tasks.length > 0 && m.tasks.every((t) => t.status === 'completed' || t.status === 'blocked');
