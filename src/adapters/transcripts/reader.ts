/**
 * Reads an attempt's transcript a page at a time: whole lines from a byte offset until about
 * `maxBytes` are consumed, each parsed by its backend's parser. Nothing before `from` is read,
 * so the first page of a 5 MB attempt costs what a small one does.
 */
import { open } from 'node:fs/promises';
import type { BackendName } from '../../core/domain/definitions.ts';
import type { TranscriptEntry } from '../../core/domain/transcript.ts';
import type { TranscriptReader } from '../../core/ports.ts';
import { parseJsonLine } from '../backends/common.ts';
import { claudeParser } from './claude.ts';
import { codexParser } from './codex.ts';
import { openaiParser } from './openai.ts';
import type { TranscriptParser } from './summary.ts';

const CHUNK = 64 * 1024;

export function parserFor(backend: BackendName): TranscriptParser {
  switch (backend) {
    case 'claude':
      return claudeParser();
    case 'codex':
      return codexParser();
    case 'openai':
      return openaiParser();
    default:
      // A passive run has no backend transcript; whatever is there is shown as status lines.
      return { line: () => [], flush: () => [] };
  }
}

export const fsTranscriptReader: TranscriptReader = {
  async read(file, backend, from, maxBytes, raw) {
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      // An attempt that has not written a line yet has no file: an empty page, not an error.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return { from, next: from, size: 0, entries: [], ...(raw ? { raw: [] } : {}) };
      }
      throw err;
    }
    try {
      const size = (await handle.stat()).size;
      const start = Math.min(from, size);
      const parser = parserFor(backend);
      const entries: TranscriptEntry[] = [];
      const lines: string[] = [];
      let offset = start;
      let pending = Buffer.alloc(0);
      const buf = Buffer.alloc(CHUNK);
      while (offset - start < maxBytes) {
        const { bytesRead } = await handle.read(buf, 0, CHUNK, offset + pending.length);
        if (bytesRead === 0) break;
        let data = Buffer.concat([pending, buf.subarray(0, bytesRead)]);
        let nl: number;
        while ((nl = data.indexOf(0x0a)) >= 0 && offset - start < maxBytes) {
          const line = data.subarray(0, nl).toString('utf8');
          offset += nl + 1;
          data = data.subarray(nl + 1);
          if (raw) lines.push(line);
          const ev = parseJsonLine(line);
          if (ev) entries.push(...parser.line(ev));
          else if (line.trim()) entries.push({ kind: 'status', text: line.slice(0, 300) });
        }
        pending = Buffer.from(data);
      }
      entries.push(...parser.flush());
      return { from: start, next: offset, size, entries, ...(raw ? { raw: lines } : {}) };
    } finally {
      await handle.close();
    }
  },
};
