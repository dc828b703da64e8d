/**
 * A projection's cursor on disk: `<state>/board/<provider>.json`, written atomically (temp,
 * fsync, rename), 0600. A file that does not parse is reported by name and never overwritten:
 * starting over would re-send nothing twice (every call is idempotent) but would hide the fault.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import type { ProjectionState, ProjectionStore } from '../../core/board/projection-state.ts';
import { NexusError } from '../../core/errors.ts';
import { writeFileAtomic } from '../store/atomic.ts';

const ProjectionStateSchema = z.object({
  schema: z.literal(1),
  provider: z.string(),
  target: z.string(),
  runs: z.record(
    z.string(),
    z.object({
      seq: z.int().check(z.gte(0)),
      item: z.optional(z.string()),
      url: z.optional(z.string()),
      sent: z.optional(z.string()),
    }),
  ),
  last_error: z.optional(z.object({ at: z.string(), message: z.string() })),
  last_sync_at: z.optional(z.string()),
});

export function cursorPath(stateDir: string, provider: string): string {
  return join(stateDir, 'board', `${provider}.json`);
}

export class CursorFile implements ProjectionStore {
  readonly path: string;

  constructor(stateDir: string, provider: string) {
    this.path = cursorPath(stateDir, provider);
  }

  async load(): Promise<ProjectionState | undefined> {
    return readCursorFile(this.path);
  }

  async save(state: ProjectionState): Promise<void> {
    await mkdir(join(this.path, '..'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path, `${JSON.stringify(state)}\n`);
  }
}

export async function readCursorFile(path: string): Promise<ProjectionState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw corrupt(path, (err as Error).message);
  }
  const parsed = ProjectionStateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw corrupt(path, `at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

function corrupt(path: string, why: string): NexusError {
  return new NexusError(
    'STATE_CORRUPT',
    `board sync cursor ${path} is invalid (${why}); it was left untouched: move it aside to project every run again (nothing is sent twice)`,
    { file: path },
  );
}
