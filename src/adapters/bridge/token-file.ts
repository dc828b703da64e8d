/**
 * Reading the user token file, without `node:crypto`: what a client needs (discovery, the
 * agent's `nexus task`) apart from what the server needs to mint and check tokens (auth.ts).
 */
// Synchronous, and not `node:fs/promises`: see discovery.ts.
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { NexusError } from '../../core/errors.ts';

/** Reads an existing token file; tightens its mode when others could read it. */
export async function readUserToken(path: string): Promise<string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
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
  const mode = statSync(path).mode & 0o777;
  // Best effort: a client reading a token file it does not own cannot (and need not) fix it.
  if ((mode & 0o077) !== 0) {
    try {
      chmodSync(path, 0o600);
    } catch {
      // not ours
    }
  }
  return token;
}
