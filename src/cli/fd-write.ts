/**
 * The CLI's output, written to the file descriptor directly. `process.stdout` on a pipe (how an
 * agent's tool call captures it) builds a net.Socket, which loads Node's stream and net modules:
 * a few milliseconds of a call that should cost about what Node's own start-up does. A pipe
 * someone made non-blocking may refuse a write (EAGAIN): from then on that descriptor's output
 * goes through the stream, in order, so nothing is lost or reordered.
 */
import { writeSync } from 'node:fs';

const viaStream = new Set<1 | 2>();

export function writeFd(fd: 1 | 2, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let done = 0;
  if (!viaStream.has(fd)) {
    try {
      while (done < bytes.length) done += writeSync(fd, bytes, done);
      return;
    } catch {
      viaStream.add(fd);
    }
  }
  (fd === 1 ? process.stdout : process.stderr).write(bytes.subarray(done));
}
