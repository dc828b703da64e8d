/**
 * Reading a run manifest: a file that does not parse is reported by name and never rewritten.
 * The store's `log_tail` beside the manifest's fields is not part of the manifest (the schema
 * drops it); `readManifestAndTail` hands it out on its own.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RunManifest as RunManifestSchema } from '../../core/domain/run.ts';
import type { RunManifest } from '../../core/domain/run.ts';
import { NexusError } from '../../core/errors.ts';

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
    text = await readFile(path, 'utf8');
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
