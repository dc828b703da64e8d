/**
 * The CLI's output, written to the file descriptor directly. `process.stdout` on a pipe (how an
 * agent's tool call captures it) builds a net.Socket, which loads Node's stream and net modules:
 * a few milliseconds of a call that should cost about what Node's own start-up does. A pipe
 * someone made non-blocking may refuse a write (EAGAIN): from then on that descriptor's output
 * goes through the stream, in order, so nothing is lost or reordered. A reader that went away
 * (`nexus list runs --all | head`: EPIPE) gets no more output and the command goes on to its
 * own exit code, as with `git log | head` — never a crash with a stack trace.
 */
import { writeSync } from 'node:fs';

const viaStream = new Set<1 | 2>();
/** Descriptors whose reader has gone (EPIPE): what they would get is dropped. */
const gone = new Set<1 | 2>();
const guarded = new Set<1 | 2>();

const isEpipe = (err: unknown): boolean => (err as NodeJS.ErrnoException)?.code === 'EPIPE';

export function writeFd(fd: 1 | 2, data: string | Uint8Array): void {
  if (gone.has(fd)) return;
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let done = 0;
  if (!viaStream.has(fd)) {
    try {
      while (done < bytes.length) done += writeSync(fd, bytes, done);
      return;
    } catch (err) {
      if (isEpipe(err)) {
        gone.add(fd);
        return;
      }
      viaStream.add(fd);
    }
  }
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (!guarded.has(fd)) {
    guarded.add(fd);
    stream.on('error', (err) => {
      if (!isEpipe(err)) throw err;
      gone.add(fd);
    });
  }
  stream.write(bytes.subarray(done));
}
