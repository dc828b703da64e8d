/**
 * Random bytes from the kernel's CSPRNG (/dev/urandom) without loading `node:crypto`, whose
 * module graph costs a `nexus task set` about a fifth of Node's own start-up. The same source
 * `crypto.randomBytes` draws from; where there is no /dev/urandom it is used instead.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export function randomBytes(length: number): Buffer {
  const out = Buffer.alloc(length);
  let fd: number | undefined;
  try {
    fd = openSync('/dev/urandom', 'r');
    for (let got = 0; got < length;) {
      const n = readSync(fd, out, got, length - got, null);
      if (n <= 0) throw new Error('short read from /dev/urandom');
      got += n;
    }
    return out;
  } catch {
    return process.getBuiltinModule('node:crypto').randomBytes(length);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
