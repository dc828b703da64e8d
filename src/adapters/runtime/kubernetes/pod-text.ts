/**
 * A pod's lines that are not reports (the runner's own messages, whatever else reaches the
 * container's stdout), kept where a local run keeps its runner's output: `runner/runner.log`
 * in the run's directory (0600), each line with the pod log's time. Any process on the state
 * reads it (`nexus logs`); a core that reattaches reads the pod log again from its start and
 * appends only what is newer than the file's last line. Capped, as a local runner log is not.
 */
import { appendFile, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const LIMIT = 1024 * 1024;

export const podTextFile = (runDir: string): string => join(runDir, 'runner', 'runner.log');

export class PodText {
  readonly #file: string;
  #after: string | undefined;
  #bytes: number;
  #writing: Promise<void> = Promise.resolve();

  private constructor(file: string, after: string | undefined, bytes: number) {
    this.#file = file;
    this.#after = after;
    this.#bytes = bytes;
  }

  /** The run's file, continued after what it already holds. */
  static async open(runDir: string): Promise<PodText> {
    const file = podTextFile(runDir);
    const body = await readFile(file, 'utf8').catch(() => '');
    const last = body.trimEnd().split('\n').pop() ?? '';
    const stamp = /^(\S+Z) /.exec(last)?.[1];
    return new PodText(file, stamp, Buffer.byteLength(body));
  }

  add(time: string | undefined, text: string): void {
    if (time && this.#after && time <= this.#after) return;
    if (time) this.#after = time;
    const line = `${time ?? new Date().toISOString()} ${text}\n`;
    if (this.#bytes + line.length > LIMIT) return;
    this.#bytes += Buffer.byteLength(line);
    this.#writing = this.#writing
      .then(() => appendFile(this.#file, line, { mode: 0o600 }))
      .catch(() => undefined);
  }

  /** Written so far (what was added is on disk once this resolves). */
  flushed(): Promise<void> {
    return this.#writing;
  }
}

/** The file's text from a byte offset, without the times: what `nexus logs` shows. */
export async function readPodText(
  runDir: string,
  from = 0,
): Promise<{ lines: string[]; next: number }> {
  const fh = await open(podTextFile(runDir), 'r').catch(() => undefined);
  if (!fh) return { lines: [], next: from };
  try {
    const { size } = await fh.stat();
    if (size <= from) return { lines: [], next: from };
    const buf = Buffer.alloc(size - from);
    await fh.read(buf, 0, buf.length, from);
    const text = buf.toString('utf8');
    const end = text.lastIndexOf('\n') + 1; // a line being written is read next time
    const lines = text
      .slice(0, end)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^\S+ /, ''));
    return { lines, next: from + Buffer.byteLength(text.slice(0, end)) };
  } finally {
    await fh.close();
  }
}
