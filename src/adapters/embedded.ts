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
import { EventHub } from '../core/hub.ts';
import type { Clock, RunLauncher, TranscriptReader } from '../core/ports.ts';
import { CoreService } from '../core/service.ts';
import type { DefinitionSource } from '../core/service.ts';
import { systemClock } from './clock.ts';
import type { FsDefinitions } from './definitions/fs-definitions.ts';
import type { FsRunStore } from './store/fs-store.ts';
import { checkDeps, embeddedStore } from './embedded-tasks.ts';
import type { EmbeddedStoreOptions } from './embedded-tasks.ts';
import { FsMemoryStore } from './memory/fs-memory.ts';
import { embedderFromEnv } from './memory/embedder.ts';

export const NEXUS_VERSION = '0.1.0';

export interface EmbeddedCoreOptions extends EmbeddedStoreOptions {
  workspace: string;
  userConfigDir: string;
  clock?: Clock;
  launcher?: RunLauncher;
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

/** Transcripts are read only by the run detail view: load the parsers on first use. */
const lazyTranscripts: TranscriptReader = {
  read: async (...args) =>
    (await import('./transcripts/reader.ts')).fsTranscriptReader.read(...args),
};

export async function openEmbeddedCore(opts: EmbeddedCoreOptions): Promise<EmbeddedCore> {
  const hub = new EventHub();
  const clock = opts.clock ?? systemClock;
  const store = embeddedStore(opts, clock, { onEvents: (events) => hub.publish(events) });
  if (opts.holdLock) await store.holdLock(opts.holdLock);
  const service = new CoreService({
    store,
    definitions: lazyDefinitions(opts.workspace, opts.userConfigDir),
    clock,
    hub,
    ...checkDeps(opts.stateDir),
    transcripts: lazyTranscripts,
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
