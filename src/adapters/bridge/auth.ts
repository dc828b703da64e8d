/**
 * Bridge credentials. One user token (32 random bytes, base64url) lives in a 0600 file in the
 * state dir; runner tokens are derived from it per run (`r1.<runId>.<HMAC-SHA256>`), so core
 * never stores them and a runner's token is worthless for any other run.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NexusError } from '../../core/errors.ts';

/** Who is on the other end of a connection. */
export type BridgeRole = { kind: 'user' } | { kind: 'runner'; runId: string };

/** Decides what a token is worth. Core supplies one; tests may supply their own. */
export interface TokenAuthority {
  /** The role the token grants, or undefined for a bad token. Must not throw. */
  authenticate(token: string): BridgeRole | undefined;
}

const RUNNER_PREFIX = 'r1.';

/** The default authority: one user token, runner tokens derived from it by HMAC. */
export class HmacTokenAuthority implements TokenAuthority {
  readonly #userToken: string;
  readonly #userDigest: Buffer;

  constructor(userToken: string) {
    if (userToken.length < 16) throw new NexusError('USAGE', 'the bridge user token is too short');
    this.#userToken = userToken;
    this.#userDigest = sha256(userToken);
  }

  /** `r1.<runId>.<base64url HMAC-SHA256(userToken, runId)>`: valid for that run only. */
  mintRunnerToken(runId: string): string {
    return `${RUNNER_PREFIX}${runId}.${this.#mac(runId)}`;
  }

  authenticate(token: string): BridgeRole | undefined {
    if (token.startsWith(RUNNER_PREFIX)) {
      const dot = token.lastIndexOf('.');
      const runId = token.slice(RUNNER_PREFIX.length, dot);
      if (dot <= RUNNER_PREFIX.length || runId.length === 0) return undefined;
      // Compare digests, not the strings: equal lengths for timingSafeEqual, no early exit.
      const given = sha256(token.slice(dot + 1));
      return timingSafeEqual(given, sha256(this.#mac(runId)))
        ? { kind: 'runner', runId }
        : undefined;
    }
    return timingSafeEqual(sha256(token), this.#userDigest) ? { kind: 'user' } : undefined;
  }

  #mac(runId: string): string {
    return createHmac('sha256', this.#userToken).update(runId).digest('base64url');
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Returns the user token stored at `path`, creating it (32 random bytes, base64url, mode 0600,
 * parent dir 0700) when absent. A file readable by others is tightened to 0600. Never logs it.
 */
export async function ensureUserToken(path: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    const handle = await open(path, 'wx', 0o600);
    const token = randomBytes(32).toString('base64url');
    try {
      await handle.writeFile(`${token}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readUserToken(path);
}

/** Reads an existing token file; tightens its mode when others could read it. */
export async function readUserToken(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new NexusError('BRIDGE_UNAUTHORIZED', `cannot read the bridge token file ${path}`, {
      file: path,
      reason: (err as NodeJS.ErrnoException).code ?? 'unknown',
    });
  }
  const token = text.trim();
  if (token.length < 16) {
    throw new NexusError('STATE_CORRUPT', `the bridge token file ${path} is empty or truncated`, {
      file: path,
    });
  }
  const mode = (await stat(path)).mode & 0o777;
  // Best effort: a client reading a token file it does not own cannot (and need not) fix it.
  if ((mode & 0o077) !== 0) await chmod(path, 0o600).catch(() => undefined);
  return token;
}
