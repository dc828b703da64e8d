/** Shared by the transcript parsers: how long texts are cut and how a tool's input is told. */
import { TRANSCRIPT_TEXT_MAX, type TranscriptEntry } from '../../core/domain/transcript.ts';
import { obj, str } from '../backends/common.ts';

/** One backend's transcript, fed a parsed JSON line at a time. */
export interface TranscriptParser {
  line(ev: Record<string, unknown>): TranscriptEntry[];
  /** What is still buffered at the end of a page (the openai backend's streamed deltas). */
  flush(): TranscriptEntry[];
}

/** A text cut to the entry limit, saying how much was left out. */
export function cut(text: string, max = TRANSCRIPT_TEXT_MAX): string {
  const t = text.replace(/\s+$/, '');
  return t.length <= max ? t : `${t.slice(0, max)}\n… (${t.length - max} more characters)`;
}

/** A tool result: its first lines, enough to see what happened. */
export function summarizeResult(text: string): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  const head = lines.slice(0, 40).join('\n');
  return cut(lines.length > 40 ? `${head}\n… (${lines.length - 40} more lines)` : head, 2_000);
}

/** The keys that say what a tool call is about, in the order worth showing. */
const TELLING_KEYS = ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'description'];

/**
 * A tool's input in one line: its telling field when it has one (`npm test`, a file path),
 * else `key=value` pairs with values shortened — readable, not a JSON dump.
 */
export function toolInput(input: unknown): string {
  if (typeof input === 'string') return oneLine(input);
  const o = obj(input);
  for (const key of TELLING_KEYS) {
    const v = str(o[key]);
    if (v !== undefined) return oneLine(v);
  }
  const parts = Object.entries(o).map(([k, v]) => {
    const s =
      typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '…';
    return `${k}=${s.length > 60 ? `${s.slice(0, 57)}...` : s}`;
  });
  return oneLine(parts.join(' '));
}

function oneLine(text: string): string {
  const t = text.trim().replace(/\s*\n\s*/g, ' ⏎ ');
  return t.length > 300 ? `${t.slice(0, 297)}...` : t;
}

/** Tokens and cost in words: "1,234 in · 56 out · $0.0123". */
export function usageText(input: number, output: number, cost?: number): string {
  const parts = [`${input.toLocaleString('en')} in`, `${output.toLocaleString('en')} out`];
  if (cost !== undefined) parts.push(`$${cost.toFixed(4)}`);
  return parts.join(' · ');
}
