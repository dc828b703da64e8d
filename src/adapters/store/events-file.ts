/**
 * `events.jsonl`: one JSON event per line, append-only, `seq` increasing by one. The next seq is
 * read from the file's tail, so appending costs the same however long the history is.
 */
import { open, readFile } from 'node:fs/promises';
import type { NewEvent, RunEvent } from '../../core/domain/events.ts';
import { RunEvent as RunEventSchema } from '../../core/domain/events.ts';
import { NexusError } from '../../core/errors.ts';
import { FILE_MODE, tightenHandle } from './modes.ts';

const TAIL_BYTES = 64 * 1024;

/** The seq of the last complete line, 0 for an empty or missing file. */
export async function lastSeq(path: string): Promise<number> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    const { size } = await fh.stat();
    if (size === 0) return 0;
    let len = Math.min(size, TAIL_BYTES);
    for (;;) {
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
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
  } finally {
    await fh.close();
  }
}

export function stampEvents(
  runId: string,
  after: number,
  events: NewEvent[],
  now: Date,
): RunEvent[] {
  const time = now.toISOString();
  return events.map((e, i) => ({
    seq: after + i + 1,
    time,
    run_id: runId,
    type: e.type,
    data: e.data,
  }));
}

export async function appendEventLines(path: string, events: RunEvent[]): Promise<void> {
  if (events.length === 0) return;
  // Key order matters: `seq` first lets lastSeq() find it without parsing the line.
  const text = events
    .map((e) =>
      JSON.stringify({ seq: e.seq, time: e.time, run_id: e.run_id, type: e.type, data: e.data }),
    )
    .join('\n');
  const fh = await open(path, 'a', FILE_MODE);
  try {
    // The mode above applies only to a new file; one found wider is tightened.
    await tightenHandle(fh);
    await fh.write(`${text}\n`);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

export async function readEventLines(
  path: string,
  after: number,
  limit: number,
): Promise<RunEvent[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: RunEvent[] = [];
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
    const ev = RunEventSchema.safeParse(parsed);
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
