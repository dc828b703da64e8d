/**
 * The board projections of one core host: each configured provider with its own cursor file,
 * started once per host (`nexus serve`, the editor's embedded core). Providers come from
 * PROVIDER_FACTORIES — adding Jira is one more factory there (docs/board.md); nothing else in
 * core or the host changes. A provider that is configured but cannot run (no key, say) shows
 * in `sync status` with its problem instead of silently doing nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BoardProjection, type ProjectionSource } from '../../core/board/projection.ts';
import type { BoardProvider } from '../../core/board/provider.ts';
import type { InboundAction, InboundResult } from '../../core/board/inbound.ts';
import type { BoardLink, BoardSync, BoardSyncStatus } from '../../core/board/sync-status.ts';
import { toUserMessage } from '../../core/errors.ts';
import type { Clock } from '../../core/ports.ts';
import type { SecretSource } from '../plane/config.ts';
import { CursorFile } from './cursor-file.ts';

/** What a factory may use to build its provider and its inbound route. */
export interface ProviderContext {
  workspace: string;
  env: NodeJS.ProcessEnv;
  secret?: SecretSource | undefined;
  clock: Clock;
  source: ProjectionSource;
  /** Applies what a person did at the provider (audited by core). */
  apply(action: InboundAction): Promise<InboundResult>;
  log: (line: string) => void;
}

export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface ProviderSetup {
  provider: BoardProvider;
  /** Where the items live: a different target next time starts the cursor over. */
  target: string;
  settleMs?: number;
  /** Inbound deliveries, once the projection exists (it maps items back to runs). */
  route?: (projection: BoardProjection) => HttpRoute;
}

export interface ProviderFactory {
  readonly name: string;
  readonly label: string;
  /** undefined: not configured; `{problem}`: configured but unusable. */
  setup(ctx: ProviderContext): Promise<ProviderSetup | { problem: string } | undefined>;
}

export interface BoardSyncHost extends BoardSync {
  /** The inbound routes (`/hooks/plane`): true when the request was one of theirs. */
  route: HttpRoute;
  close(): Promise<void>;
}

export interface BoardSyncOptions extends ProviderContext {
  stateDir: string;
  factories: readonly ProviderFactory[];
}

export async function startBoardSync(opts: BoardSyncOptions): Promise<BoardSyncHost> {
  const projections: BoardProjection[] = [];
  const routes: HttpRoute[] = [];
  const problems: BoardSyncStatus[] = [];
  for (const factory of opts.factories) {
    let setup: Awaited<ReturnType<ProviderFactory['setup']>>;
    try {
      setup = await factory.setup(opts);
    } catch (err) {
      setup = { problem: toUserMessage(err) };
    }
    if (!setup) continue;
    if ('problem' in setup) {
      opts.log(`board sync ${factory.name}: not running: ${setup.problem}`);
      problems.push(stopped(factory, setup.problem));
      continue;
    }
    const projection = new BoardProjection({
      source: opts.source,
      provider: setup.provider,
      store: new CursorFile(opts.stateDir, factory.name),
      target: setup.target,
      clock: opts.clock,
      ...(setup.settleMs !== undefined ? { settleMs: setup.settleMs } : {}),
      log: opts.log,
    });
    try {
      await projection.start();
    } catch (err) {
      await projection.close();
      problems.push(stopped(factory, toUserMessage(err)));
      continue;
    }
    projections.push(projection);
    if (setup.route) routes.push(setup.route(projection));
  }
  const status = (): BoardSyncStatus[] => [...projections.map((p) => p.status()), ...problems];
  return {
    status,
    async resync() {
      for (const p of projections) await p.resync();
      return status();
    },
    links: (runId) =>
      projections.map((p) => p.link(runId)).filter((l): l is BoardLink => l !== undefined),
    route: (req, res) => routes.some((r) => r(req, res)),
    async close() {
      await Promise.all(projections.map((p) => p.close()));
    },
  };
}

function stopped(factory: ProviderFactory, problem: string): BoardSyncStatus {
  return {
    provider: factory.name,
    label: factory.label,
    state: 'error',
    items: 0,
    backlog: 0,
    lag: 0,
    last_error: { at: new Date().toISOString(), message: problem },
  };
}
