/**
 * The agent's `nexus task …` without a serving core: the run store and the checklist's writer
 * (RunTasks) alone, with exactly the store options, check runner, protected files, check
 * environment and redactor a full embedded core gives them (embedded.ts builds its core from
 * the same functions). What it leaves out (definitions, memory, schedules, attachments, the
 * dispatcher) a task call never touches; loading it cost most of the call's start-up.
 */
import { join } from 'node:path';
import { checkEnvironment, makeRedactor, secretValues } from '../core/check-env.ts';
import type { NexusApi } from '../core/api.ts';
import type { Clock, CommandRunner } from '../core/ports.ts';
import type { ProtectedFiles } from '../core/protect.ts';
import { RunTasks } from '../core/task-service.ts';
import type { RunTasksDeps } from '../core/task-service.ts';
import { systemClock } from './clock.ts';
import { syncHere } from './store/atomic.ts';
import { FsRunStore } from './store/fs-store.ts';
import type { FsRunStoreOptions } from './store/fs-store.ts';

export interface EmbeddedStoreOptions {
  stateDir: string;
  /** Hold the state lock for the process's lifetime (a serving core). */
  holdLock?: string | undefined;
  lockWaitMs?: number;
}

/** The run store of an embedded core; `more` adds the store's own options (fs-store.ts). */
export function embeddedStore(
  opts: EmbeddedStoreOptions,
  clock: Clock,
  more: Pick<FsRunStoreOptions, 'onEvents' | 'diskSync'> = {},
): FsRunStore {
  return new FsRunStore(opts.stateDir, {
    clock,
    lock: { waitMs: opts.lockWaitMs ?? 5000, owner: opts.holdLock ?? 'cli' },
    ...more,
  });
}

/**
 * Checks run rarely from the CLI (passive runs): load child_process and probe for the sandbox
 * only when one does. Checks run in their own sandbox over the workspace where one can start.
 */
function lazyCommands(stateDir: string): CommandRunner {
  let real: Promise<CommandRunner> | undefined;
  const load = async (): Promise<CommandRunner> => {
    const [{ ShellCommandRunner }, sb] = await Promise.all([
      import('./exec/shell-runner.ts'),
      import('./sandbox/bubblewrap.ts'),
    ]);
    const probe = await sb.probeBubblewrap();
    if (!probe.ok) return new ShellCommandRunner();
    return new ShellCommandRunner({
      sandboxFor: (cwd) =>
        new sb.BubblewrapSandbox(probe.bin, {
          workspace: cwd,
          hidden: [stateDir, ...sb.secretPaths()],
          readOnly: [join(cwd, '.nexus')],
          writable: [],
        }),
    });
  };
  return {
    run: async (command, opts) => {
      real ??= load();
      return (await real).run(command, opts);
    },
  };
}

/** Protected files are read rarely from the CLI (passive runs only): load the glob lazily. */
const lazyProtectedFiles: ProtectedFiles = {
  snapshot: async (cwd, globs) =>
    (await import('./workspace/protected-files.ts')).fsProtectedFiles.snapshot(cwd, globs),
  gitHead: async (cwd) =>
    (await import('./workspace/protected-files.ts')).fsProtectedFiles.gitHead(cwd),
};

/** How an embedded core runs checks and hooks: what RunTasks needs besides the store. */
export function checkDeps(
  stateDir: string,
): Pick<RunTasksDeps, 'commands' | 'protectedFiles' | 'checkEnv' | 'redact'> {
  return {
    commands: lazyCommands(stateDir),
    protectedFiles: lazyProtectedFiles,
    checkEnv: checkEnvironment(process.env, []),
    redact: makeRedactor(secretValues(process.env)),
  };
}

/** The task calls of NexusApi, and reading runs (`nexus list runs` needs no more either). */
export type TaskApi = Pick<
  NexusApi,
  'listTasks' | 'getTask' | 'setTask' | 'appendNotes' | 'addTask' | 'getRun' | 'listRuns'
>;

/**
 * The checklist of an embedded core, without the rest of it: for one CLI call (`nexus task …`,
 * `nexus list runs`), which has nothing to run while the disk works, so its fsyncs are made on
 * the calling thread (atomic.ts, `syncHere`).
 */
export function openEmbeddedTasks(opts: EmbeddedStoreOptions): {
  api: TaskApi;
  close: () => Promise<void>;
} {
  const store = embeddedStore(opts, systemClock, { diskSync: syncHere });
  // One call, which seldom runs a hook or a check or records a note: the checks' environment
  // and the redactor are worked out on first use (0.7 ms of a fresh `nexus task set`), from
  // the same environment, which nothing changes during the call. A long-lived core works them
  // out when it opens (checkDeps), from the environment it started with.
  let env: Record<string, string> | undefined;
  let redact: ((text: string) => string) | undefined;
  const tasks = new RunTasks({
    store,
    commands: lazyCommands(opts.stateDir),
    protectedFiles: lazyProtectedFiles,
    get checkEnv() {
      return (env ??= checkEnvironment(process.env, []));
    },
    redact: (text) => (redact ??= makeRedactor(secretValues(process.env)))(text),
    now: () => systemClock.now().toISOString(),
  });
  return {
    api: {
      listTasks: (run) => tasks.list(run),
      getTask: (run, task) => tasks.get(run, task),
      setTask: (req) => tasks.set(req),
      appendNotes: (run, task, text, by) => tasks.appendNotes(run, task, text, by),
      addTask: (req) => tasks.add(req),
      getRun: async (ref) => store.readRun(await store.resolveRunId(ref)),
      // As the full core lists them: archived runs stay out unless asked for.
      listRuns: (filter) => store.listRuns({ ...filter, archived: filter?.archived ?? 'hide' }),
    },
    close: () => store.close(),
  };
}
