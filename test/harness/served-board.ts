// A real core (store on disk, example definitions) served by a real BridgeServer on 127.0.0.1
// with the board's HTTP handler: what `nexus serve` puts together, for the board's browser tests
// and its benchmark. Starting a run only records it (no runner is spawned).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createBoardHttpHandler } from '../../src/adapters/board-http.ts';
import { HmacTokenAuthority } from '../../src/adapters/bridge/auth.ts';
import { BridgeServer } from '../../src/adapters/bridge/server.ts';
import { NEXUS_VERSION, openEmbeddedCore, type EmbeddedCore } from '../../src/adapters/embedded.ts';
import { REPO, tempWorkspace, type TempWorkspace } from '../builders/workspace.ts';

export const BOARD_BUNDLE = join(REPO, 'dist', 'webview', 'board.js');

export interface ServedBoard {
  core: EmbeddedCore;
  ws: TempWorkspace;
  token: string;
  /** `http://127.0.0.1:port` */
  http: string;
  /** Runs the launcher was asked to start. */
  launched: string[];
  logs: string[];
  close(): Promise<void>;
}

export async function startServedBoard(): Promise<ServedBoard> {
  if (!existsSync(BOARD_BUNDLE))
    throw new Error(`${BOARD_BUNDLE} is missing: run \`node esbuild.mjs\``);
  const ws = tempWorkspace({ withExamples: true });
  const launched: string[] = [];
  const logs: string[] = [];
  const core = await openEmbeddedCore({
    workspace: ws.dir,
    stateDir: ws.stateDir,
    userConfigDir: join(ws.dir, 'user-config'),
    launcher: { launch: async (id) => void launched.push(id), cancel: async () => undefined },
  });
  const token = randomBytes(32).toString('base64url');
  const server = new BridgeServer({
    api: core.service,
    runner: core.service,
    auth: new HmacTokenAuthority(token),
    version: NEXUS_VERSION,
    log: (m) => logs.push(m),
    httpHandler: createBoardHttpHandler({
      token,
      bundleFile: BOARD_BUNDLE,
      log: (m) => logs.push(m),
    }),
  });
  const url = await server.listen();
  return {
    core,
    ws,
    token,
    http: url.replace(/^ws:/, 'http:'),
    launched,
    logs,
    async close() {
      await server.close();
      await core.close();
    },
  };
}
