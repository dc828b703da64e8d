/**
 * The `nexus task …` commands: what an agent calls dozens of times a run. Part of the full
 * command table (main.ts) and the whole table of the agent's entry (task-main.ts).
 */
import type { CommandTable } from './run-command.ts';

export const TASK_COMMANDS: CommandTable = {
  'task list': async () => (await import('./commands/task.ts')).taskListCommand,
  'task show': async () => (await import('./commands/task.ts')).taskShowCommand,
  'task set': async () => (await import('./commands/task.ts')).taskSetCommand,
  'task append-notes': async () => (await import('./commands/task.ts')).taskNotesCommand,
  'task add': async () => (await import('./commands/task.ts')).taskAddCommand,
};
