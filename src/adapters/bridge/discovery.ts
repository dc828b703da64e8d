/**
 * How a client finds a running core: core writes `core.json` (mode 0600) next to the token
 * file in the state dir while it serves, and removes it on clean shutdown. A stale file (its
 * pid is gone) is ignored. `NEXUS_CONNECT` + `NEXUS_TOKEN` / `NEXUS_TOKEN_FILE` override it,
 * e.g. for a core on another port or inside a container.
 */
import { randomBytes } from '../../core/random.ts';
// `fs.promises` read where it is used, not `node:fs/promises` imported: loading it (with the
// readline and REPL-history modules it pulls in) cost the connected `nexus task` 1.6 ms, and that
// path only reads two small files, synchronously.
import { promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NexusError } from '../../core/errors.ts';
import { readUserToken } from './token-file.ts';
import { isPidAlive } from '../pid.ts';
import { ensureStateDir } from '../store/state-dir.ts';

/** File names inside the state dir. */
export const CORE_INFO_FILE = 'core.json';
export const TOKEN_FILE = 'bridge-token';

export interface CoreInfo {
  /** The bridge URL, `ws://127.0.0.1:<port>`. */
  url: string;
  pid: number;
  version: string;
  /** ISO time the core started serving. */
  started_at: string;
}

/**
 * Whether a parsed `core.json` is one (checked by hand, not with a schema: every connected
 * `nexus task` reads this file, and this keeps zod off that path).
 */
export function isCoreInfo(v: unknown): v is CoreInfo {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.url === 'string' &&
    /^wss?:\/\//.test(o.url) &&
    Number.isInteger(o.pid) &&
    (o.pid as number) >= 1 &&
    typeof o.version === 'string' &&
    typeof o.started_at === 'string'
  );
}

export interface DiscoveredCore {
  url: string;
  token: string;
}

export const coreInfoPath = (stateDir: string): string => join(stateDir, CORE_INFO_FILE);
export const tokenPath = (stateDir: string): string => join(stateDir, TOKEN_FILE);

/** Core: publishes where it listens (atomic write, mode 0600). */
export async function writeCoreInfo(stateDir: string, info: CoreInfo): Promise<void> {
  await ensureStateDir(stateDir);
  const target = coreInfoPath(stateDir);
  const temp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await fsp.open(temp, 'wx', 0o600);
  try {
    if (!isCoreInfo(info)) throw new Error(`internal: not a core.json: ${JSON.stringify(info)}`);
    const { url, pid, version, started_at } = info;
    await handle.writeFile(`${JSON.stringify({ url, pid, version, started_at }, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(temp, target);
}

/**
 * The port the last core of this state served on: kept after a clean shutdown (unlike
 * `core.json`), so the next core listens there again and runners that outlived the stop
 * reconnect to the address they know.
 */
export const LAST_PORT_FILE = 'core.port';

export async function rememberPort(stateDir: string, port: number): Promise<void> {
  const target = join(stateDir, LAST_PORT_FILE);
  const temp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
  await fsp.writeFile(temp, `${port}\n`, { mode: 0o600 });
  await fsp.rename(temp, target);
}

export async function lastPort(stateDir: string): Promise<number | undefined> {
  try {
    const n = Number((await fsp.readFile(join(stateDir, LAST_PORT_FILE), 'utf8')).trim());
    return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Core: on clean shutdown. Only removes the file when it still names this process. */
export async function removeCoreInfo(stateDir: string, pid: number = process.pid): Promise<void> {
  const info = await readCoreInfo(stateDir);
  if (info?.pid === pid) await fsp.rm(coreInfoPath(stateDir), { force: true });
}

/** The published info, or undefined when absent or unreadable. */
export async function readCoreInfo(stateDir: string): Promise<CoreInfo | undefined> {
  let text: string;
  try {
    text = readFileSync(coreInfoPath(stateDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isCoreInfo(parsed)) return undefined;
    const { url, pid, version, started_at } = parsed;
    return { url, pid, version, started_at };
  } catch {
    return undefined;
  }
}

/** True when a process with this pid exists (EPERM: it exists but is not ours). */
export { isPidAlive };

/**
 * Where to connect, or undefined when no core is running (the caller then embeds core).
 * The env override wins; without a token it is a usage error rather than a silent fallback.
 */
export async function discoverCore(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DiscoveredCore | undefined> {
  const url = env.NEXUS_CONNECT;
  if (url !== undefined && url !== '') {
    if (!/^wss?:\/\//.test(url)) {
      throw new NexusError('USAGE', `NEXUS_CONNECT must be a ws:// URL, got '${url}'`);
    }
    if (env.NEXUS_TOKEN !== undefined && env.NEXUS_TOKEN !== '')
      return { url, token: env.NEXUS_TOKEN };
    if (env.NEXUS_TOKEN_FILE !== undefined && env.NEXUS_TOKEN_FILE !== '') {
      return { url, token: await readUserToken(env.NEXUS_TOKEN_FILE) };
    }
    throw new NexusError(
      'USAGE',
      'NEXUS_CONNECT is set but neither NEXUS_TOKEN nor NEXUS_TOKEN_FILE is',
    );
  }
  const info = await readCoreInfo(stateDir);
  if (info === undefined || !isPidAlive(info.pid)) return undefined;
  return { url: info.url, token: await readUserToken(tokenPath(stateDir)) };
}
