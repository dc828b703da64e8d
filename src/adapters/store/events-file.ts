/**
 * `events.jsonl`: one JSON event per line, append-only, `seq` increasing by one. The next seq is
 * read from the file's tail, so appending costs the same however long the history is.
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  promises as fsp,
  readSync,
  writeFileSync,
} from 'node:fs';
import type { NewEvent, RunEvent, runEventSchema } from '../../core/domain/events.ts';
import { NexusError } from '../../core/errors.ts';
import type { DiskSync } from './atomic.ts';
import { syncOnPool } from './atomic.ts';
import { FILE_MODE, tightenFd } from './modes.ts';

const TAIL_BYTES = 64 * 1024;

/** The seq of the last complete line of the open file (`size` bytes), 0 when it has none. */
function lastSeqOf(fd: number, size: number): number {
  if (size === 0) return 0;
  let len = Math.min(size, TAIL_BYTES);
  for (;;) {
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const text = buf.toString('utf8');
    // A torn last line (crash mid-append) is ignored; its seq will be reused.
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    for (let i = lines.length - 1; i >= 0; i--) {
      const m = /^\{"seq":(\d+),/.exec(lines[i] ?? '');
      if (m) return Number(m[1]);
    }
    if (len >= size) return 0;
    len = Math.min(size, len * 4);
  }
}

/**
 * Before appending: a torn last line (a crash mid-append: no closing newline) is cut off, so the
 * next event starts on a line of its own, and the seq continues after both the last complete
 * event and the torn one, so no seq is ever used twice. Returns what was cut, if anything.
 * Synchronous, on one descriptor: a few reads of the log's tail (see atomic.ts).
 */
export function cutTornTail(path: string): {
  after: number;
  complete: number;
  cut?: { bytes: number; seq?: number };
} {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { after: 0, complete: 0 };
    throw err;
  }
  try {
    const { size } = fstatSync(fd);
    if (size === 0) return { after: 0, complete: 0 };
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) {
      const complete = lastSeqOf(fd, size);
      return { after: complete, complete };
    }
    // Find where the torn line starts: after the last newline.
    let start = 0;
    let len = Math.min(size, TAIL_BYTES);
    for (;;) {
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      const nl = buf.lastIndexOf(0x0a);
      if (nl >= 0) {
        start = size - len + nl + 1;
        break;
      }
      if (len >= size) break;
      len = Math.min(size, len * 4);
    }
    const torn = Buffer.alloc(Math.min(size - start, 64));
    readSync(fd, torn, 0, torn.length, start);
    const seqMatch = /^\{"seq":(\d+)/.exec(torn.toString('utf8'));
    ftruncateSync(fd, start);
    fsyncSync(fd);
    const complete = lastSeqOf(fd, start);
    const tornSeq = seqMatch ? Number(seqMatch[1]) : undefined;
    return {
      after: Math.max(complete, tornSeq ?? 0),
      complete,
      cut: { bytes: size - start, ...(tornSeq !== undefined ? { seq: tornSeq } : {}) },
    };
  } finally {
    closeSync(fd);
  }
}

export function stampEvents(
  runId: string,
  after: number,
  events: NewEvent[],
  now: Date,
): RunEvent[] {
  const time = now.toISOString();
  // Each stays the variant it was: type and data travel together.
  return events.map((e, i) => ({ seq: after + i + 1, time, run_id: runId, ...e }));
}

export async function appendEventLines(
  path: string,
  events: RunEvent[],
  sync: DiskSync = syncOnPool,
): Promise<void> {
  if (events.length === 0) return;
  // Key order matters: `seq` first lets lastSeq() find it without parsing the line.
  const text = events
    .map((e) =>
      JSON.stringify({ seq: e.seq, time: e.time, run_id: e.run_id, type: e.type, data: e.data }),
    )
    .join('\n');
  // As in atomic.ts: the quick calls on this thread, the fdatasync as the caller chose.
  const fd = openSync(path, 'a', FILE_MODE);
  try {
    // The mode above applies only to a new file; one found wider is tightened.
    tightenFd(fd);
    writeFileSync(fd, `${text}\n`);
    await sync(fd, true);
  } finally {
    closeSync(fd);
  }
}

export async function readEventLines(
  path: string,
  after: number,
  limit: number,
): Promise<RunEvent[]> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: RunEvent[] = [];
  let schema: ReturnType<typeof runEventSchema> | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    // Followers poll from a cursor: skip what they already have without parsing it.
    const seen = /^\{"seq":(\d+),/.exec(line);
    if (seen && Number(seen[1]) <= after) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      if (i === lines.length - 1 || lines.slice(i + 1).every((l) => l === '')) break; // torn tail
      throw new NexusError('STATE_CORRUPT', `${path}:${i + 1}: not valid JSON`, {
        file: path,
        line: i + 1,
      });
    }
    // zod and the event schema are loaded on the first line read, not with the store.
    schema ??= (await import('../../core/domain/events.ts')).runEventSchema();
    const ev = schema.safeParse(parsed);
    if (!ev.success) {
      throw new NexusError('STATE_CORRUPT', `${path}:${i + 1}: not a valid event`, {
        file: path,
        line: i + 1,
      });
    }
    if (ev.data.seq > after) {
      out.push(ev.data);
      if (out.length >= limit) break;
    }
  }
  return out;
}
