/** The served board for a core host: its HTTP handler, when this build has the board bundle. */
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureUserToken } from './bridge/auth.ts';
import { tokenPath } from './bridge/discovery.ts';
import { createBoardHttpHandler } from './board-http.ts';
import { ensureStateDir } from './store/state-dir.ts';

/** `dist/webview/board.js` next to this code (bundled into dist/ or dist/chunks/, or source). */
export function boardBundle(): string | undefined {
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  return [
    join(here, 'webview', 'board.js'),
    join(here, '..', 'webview', 'board.js'),
    join(here, '..', '..', 'dist', 'webview', 'board.js'),
  ].find((p) => existsSync(p));
}

export async function boardHandlerFor(
  stateDir: string,
  log: (line: string) => void,
): Promise<((req: IncomingMessage, res: ServerResponse) => void) | undefined> {
  const bundleFile = boardBundle();
  if (!bundleFile) {
    log('the board bundle (dist/webview/board.js) is not built; serving without the board');
    return undefined;
  }
  await ensureStateDir(stateDir);
  const token = await ensureUserToken(tokenPath(stateDir));
  return createBoardHttpHandler({ token, bundleFile, log });
}
