/**
 * Builds an embedded core: store + definitions + service in this process. Used by the CLI
 * (lock per operation), `nexus serve` and the extension host (lock held for their lifetime).
 */
import { FsScheduleStore } from './store/schedule-file.ts';
import { minIntervalFrom } from '../core/schedule/model.ts';
import { maxCallDepthFrom } from '../core/lineage.ts';
import type { DefinitionSummary } from '../core/api.ts';
import type { DefinitionKind } from '../core/domain/definitions.ts';
import { join } from 'node:path';
import { fsAttachmentFiles } from './store/attachment-files.ts';
import { checkEnvironment, makeRedactor, secretValues } from '../core/check-env.ts';
import { EventHub } from '../core/hub.ts';
import type { ProtectedFiles } from '../core/protect.ts';
import type { Clock, CommandRunner, RunLauncher, TranscriptReader } from '../core/ports.ts';
import { CoreService } from '../core/service.ts';
import type { DefinitionSource } from '../core/service.ts';
import { systemClock } from './clock.ts';
import type { FsDefinitions } from './definitions/fs-definitions.ts';
import { FsRunStore } from './store/fs-store.ts';
import { FsMemoryStore } from './memory/fs-memory.ts';
import { embedderFromEnv } from './memory/embedder.ts';

export const NEXUS_VERSION = '0.1.0';

export interface EmbeddedCoreOptions {
  workspace: string;
  stateDir: string;
  userConfigDir: string;
  clock?: Clock;
  launcher?: RunLauncher;
  /** Hold the state lock for the process's lifetime (a serving core). */
  holdLock?: string | undefined;
  lockWaitMs?: number;
}

export interface EmbeddedCore {
  service: CoreService;
  store: FsRunStore;
  hub: EventHub;
  close(): Promise<void>;
}

/** Definitions are parsed with `yaml`; load that only when a command needs definitions. */
function lazyDefinitions(workspace: string, userConfigDir: string): DefinitionSource {
  let real: Promise<FsDefinitions> | undefined;
  const load = (): Promise<FsDefinitions> =>
    (real ??= import('./definitions/fs-definitions.ts').then(
      (m) => new m.FsDefinitions({ workspace, userConfigDir }),
    ));
  return {
    list: async (kind: DefinitionKind): Promise<DefinitionSummary[]> => (await load()).list(kind),
    get: (async (kind: DefinitionKind, ref: string) =>
      (await load()).get(kind, ref)) as DefinitionSource['get'],
  };
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

/** Transcripts are read only by the run detail view: load the parsers on first use. */
const lazyTranscripts: TranscriptReader = {
  read: async (...args) =>
    (await import('./transcripts/reader.ts')).fsTranscriptReader.read(...args),
};

export async function openEmbeddedCore(opts: EmbeddedCoreOptions): Promise<EmbeddedCore> {
  const hub = new EventHub();
  const clock = opts.clock ?? systemClock;
  const store = new FsRunStore(opts.stateDir, {
    clock,
    lock: { waitMs: opts.lockWaitMs ?? 5000, owner: opts.holdLock ?? 'cli' },
    onEvents: (events) => hub.publish(events),
  });
  if (opts.holdLock) await store.holdLock(opts.holdLock);
  const service = new CoreService({
    store,
    definitions: lazyDefinitions(opts.workspace, opts.userConfigDir),
    clock,
    hub,
    commands: lazyCommands(opts.stateDir),
    protectedFiles: lazyProtectedFiles,
    transcripts: lazyTranscripts,
    checkEnv: checkEnvironment(process.env, []),
    redact: makeRedactor(secretValues(process.env)),
    launcher: opts.launcher,
    // The project's memory lives with the workspace's state; global and agent memory with the
    // person's definitions (so every workspace shares them).
    memory: new FsMemoryStore({
      projectDir: join(opts.stateDir, 'memory'),
      userDir: join(opts.userConfigDir, 'memory'),
      lockWaitMs: opts.lockWaitMs ?? 5000,
    }),
    embedder: embedderFromEnv(process.env),
    attachmentFiles: fsAttachmentFiles(opts.stateDir),
    maxCallDepth: maxCallDepthFrom(process.env),
    schedules: new FsScheduleStore(opts.stateDir, store.lock),
    scheduleMinIntervalSec: minIntervalFrom(process.env),
    workspace: opts.workspace,
    version: NEXUS_VERSION,
    mode: 'embedded',
  });
  return { service, store, hub, close: () => store.close() };
}
