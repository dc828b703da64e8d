/**
 * Writing and reading a run manifest: a file that does not parse is reported by name and never
 * rewritten. The store's `log_tail` beside the manifest's fields is not part of the manifest
 * (the schema drops it); `readManifestAndTail` hands it out on its own.
 *
 * The store ends each manifest it writes with a checksum of the text before it (`digest`, see
 * manifestText). A manifest whose checksum matches is as the store wrote it, from a manifest it
 * had itself read through the schema or built, so it is not validated again: zod and the
 * manifest's schemas, about 11 ms of every fresh process's start-up, are loaded only for a file
 * edited since (by hand, by another tool, or written by a version without the checksum). The
 * checksum finds accidents, not forgeries (anyone who can write the file can recompute it, as
 * they could write a manifest that passes the schema): what keeps an agent out of the state is
 * the sandbox (docs/security.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from '../../core/domain/events.ts';
import type { RunManifest } from '../../core/domain/run.ts';
import { NexusError } from '../../core/errors.ts';

/** FNV-1a, 32 bits, over the text's UTF-16 code units, in base 36. */
function checksum(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

const DIGEST_TAIL = /,\n "digest": "([0-9a-z]{1,7})"\n\}$/;

/**
 * A manifest's file text: its fields, then the event lines this write is to append (`log_tail`),
 * then the checksum of everything before it.
 */
export function manifestText(manifest: RunManifest, lines: readonly RunEvent[]): string {
  const body = JSON.stringify(
    lines.length > 0 ? { ...manifest, log_tail: lines } : manifest,
    null,
    1,
  );
  return `${body.slice(0, -2)},\n "digest": "${checksum(body)}"\n}`;
}

/** Whether `text` ends with the checksum of what precedes it, as manifestText writes it. */
function asWritten(text: string): boolean {
  const m = DIGEST_TAIL.exec(text.slice(-40));
  if (!m) return false;
  const body = `${text.slice(0, text.length - m[0].length)}\n}`;
  return checksum(body) === m[1];
}

export async function readManifestFile(runsDir: string, id: string): Promise<RunManifest> {
  return (await readManifestAndTail(runsDir, id)).manifest;
}

/**
 * The manifest and, as written beside it, the event lines its write was to append
 * (`log_tail`, unchecked: fs-store.ts checks them only when it has to append them).
 */
export async function readManifestAndTail(
  runsDir: string,
  id: string,
): Promise<{ manifest: RunManifest; logTail: unknown }> {
  const path = join(runsDir, id, 'run.json');
  let text: string;
  try {
    // Synchronous: one small file (see atomic.ts).
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NexusError('RUN_NOT_FOUND', `no run '${id}' (missing ${path})`, { run: id });
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NexusError(
      'STATE_CORRUPT',
      `run manifest ${path} is not valid JSON (${(err as Error).message}); it was left untouched`,
      { file: path },
    );
  }
  if (asWritten(text) && typeof json === 'object' && json !== null) {
    const { log_tail: logTail, digest: _digest, ...manifest } = json as Record<string, unknown>;
    return { manifest: manifest as RunManifest, logTail };
  }
  const { RunManifest: RunManifestSchema } = await import('../../core/domain/run.ts');
  let parsed = RunManifestSchema.safeParse(json);
  if (!parsed.success) {
    // Message texts are loaded only when a person will read one.
    await import('../../core/domain/messages.ts');
    parsed = RunManifestSchema.safeParse(json);
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NexusError(
      'STATE_CORRUPT',
      `run manifest ${path} is invalid at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'unknown'}; it was left untouched`,
      { file: path },
    );
  }
  return { manifest: parsed.data, logTail: (json as { log_tail?: unknown }).log_tail };
}
