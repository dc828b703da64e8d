/**
 * Bridge credentials: three principals, told apart by the token alone. One user token (32
 * random bytes, base64url) lives in a 0600 file in the state dir; per run, core derives a
 * runner token (`r1.<runId>.<HMAC>`, held by the runner process only: the judge) and an agent
 * token (`a1.<runId>.<HMAC>`, the only one the agent's processes ever see), so core stores
 * neither and each is worthless for any other run or any other principal.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NexusError } from '../../core/errors.ts';
import { readUserToken } from './token-file.ts';

export { readUserToken };

/** Who is on the other end of a connection. */
export type BridgeRole =
  { kind: 'user' } | { kind: 'runner'; runId: string } | { kind: 'agent'; runId: string };

/** Decides what a token is worth. Core supplies one; tests may supply their own. */
export interface TokenAuthority {
  /** The role the token grants, or undefined for a bad token. Must not throw. */
  authenticate(token: string): BridgeRole | undefined;
}

const RUNNER_PREFIX = 'r1.';
const AGENT_PREFIX = 'a1.';

/** The default authority: one user token, runner tokens derived from it by HMAC. */
export class HmacTokenAuthority implements TokenAuthority {
  readonly #userToken: string;
  readonly #userDigest: Buffer;

  constructor(userToken: string) {
    if (userToken.length < 16) throw new NexusError('USAGE', 'the bridge user token is too short');
    this.#userToken = userToken;
    this.#userDigest = sha256(userToken);
  }

  /** `r1.<runId>.<base64url HMAC-SHA256(userToken, runId)>`: the judge, for that run only. */
  mintRunnerToken(runId: string): string {
    return `${RUNNER_PREFIX}${runId}.${this.#mac(runId)}`;
  }

  /** `a1.<runId>.<HMAC over "agent\0" + runId>`: what the agent's processes get. */
  mintAgentToken(runId: string): string {
    return `${AGENT_PREFIX}${runId}.${this.#mac(`agent\0${runId}`)}`;
  }

  authenticate(token: string): BridgeRole | undefined {
    if (token.startsWith(RUNNER_PREFIX)) {
      const runId = scopedRun(token, RUNNER_PREFIX, (id) => this.#mac(id));
      return runId === undefined ? undefined : { kind: 'runner', runId };
    }
    if (token.startsWith(AGENT_PREFIX)) {
      const runId = scopedRun(token, AGENT_PREFIX, (id) => this.#mac(`agent\0${id}`));
      return runId === undefined ? undefined : { kind: 'agent', runId };
    }
    return timingSafeEqual(sha256(token), this.#userDigest) ? { kind: 'user' } : undefined;
  }

  #mac(text: string): string {
    return createHmac('sha256', this.#userToken).update(text).digest('base64url');
  }
}

/**
 * The authority of a runner that embeds core (no core serving): it accepts exactly one agent
 * token, random per runner process and never written anywhere, and nothing else.
 */
export class AgentOnlyAuthority implements TokenAuthority {
  readonly token: string;
  readonly #runId: string;
  readonly #digest: Buffer;

  constructor(runId: string) {
    this.#runId = runId;
    this.token = `${AGENT_PREFIX}${runId}.${randomBytes(32).toString('base64url')}`;
    this.#digest = sha256(this.token);
  }

  authenticate(token: string): BridgeRole | undefined {
    return timingSafeEqual(sha256(token), this.#digest)
      ? { kind: 'agent', runId: this.#runId }
      : undefined;
  }
}

/** The run a `<prefix><runId>.<mac>` token is for, when its MAC is right. */
function scopedRun(
  token: string,
  prefix: string,
  mac: (runId: string) => string,
): string | undefined {
  const dot = token.lastIndexOf('.');
  const runId = token.slice(prefix.length, dot);
  if (dot <= prefix.length || runId.length === 0) return undefined;
  // Compare digests, not the strings: equal lengths for timingSafeEqual, no early exit.
  return timingSafeEqual(sha256(token.slice(dot + 1)), sha256(mac(runId))) ? runId : undefined;
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
