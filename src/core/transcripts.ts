/**
 * `runs.transcript`: one page of an attempt's conversation. The file is the one the runner
 * named in the attempt's summary, kept inside the run's directory; what comes back is redacted
 * of the secret values core knows, like check output.
 */
import type { TranscriptRequest } from './api.ts';
import type { RunManifest } from './domain/run.ts';
import type { TranscriptEntry, TranscriptPage } from './domain/transcript.ts';
import { NexusError } from './errors.ts';
import type { TranscriptReader } from './ports.ts';

/** The file beside an attempt's transcript holding the prompt it was sent (the runner writes it). */
export function promptFileName(attempt: number): string {
  return `${String(attempt).padStart(2, '0')}.prompt.md`;
}

/** Longest prompt a page carries; the rest is cut with a marker. */
export const PROMPT_MAX_BYTES = 64 * 1024;

/** How much raw transcript one page reads by default: a few screens of conversation. */
export const TRANSCRIPT_PAGE_BYTES = 256 * 1024;
export const TRANSCRIPT_PAGE_MAX_BYTES = 1024 * 1024;

export async function readTranscriptPage(
  m: RunManifest,
  req: TranscriptRequest,
  deps: {
    reader: TranscriptReader | undefined;
    runFile: (relative: string) => string;
    readRunFile: (relative: string) => Promise<Buffer | undefined>;
    redact: ((text: string) => string) | undefined;
  },
): Promise<TranscriptPage> {
  const attempt = m.attempts.find((a) => a.n === req.attempt);
  if (!attempt) throw new NexusError('USAGE', `run ${m.id} has no attempt ${req.attempt}`);
  // The runner names the file; it must stay inside the run's directory.
  const rel = attempt.transcript;
  if (!/^[\w.-]+(\/[\w.-]+)*$/.test(rel) || rel.split('/').includes('..')) {
    throw new NexusError(
      'STATE_CORRUPT',
      `run ${m.id} attempt ${attempt.n}: transcript path '${rel}' is outside the run`,
    );
  }
  if (!deps.reader) throw new NexusError('USAGE', 'this core does not read transcripts');
  const page = await deps.reader.read(
    deps.runFile(rel),
    m.agent.backend,
    req.from ?? 0,
    Math.min(req.maxBytes ?? TRANSCRIPT_PAGE_BYTES, TRANSCRIPT_PAGE_MAX_BYTES),
    req.raw === true,
  );
  const redact = deps.redact ?? ((t: string): string => t);
  // The first page also says what the attempt was asked (absent for runs from before it was kept).
  const promptRel = `${rel.slice(0, rel.lastIndexOf('/') + 1)}${promptFileName(attempt.n)}`;
  const kept = (req.from ?? 0) === 0 ? await deps.readRunFile(promptRel) : undefined;
  const prompt =
    kept === undefined
      ? undefined
      : kept.length > PROMPT_MAX_BYTES
        ? `${kept.subarray(0, PROMPT_MAX_BYTES).toString('utf8')}\n… (cut at 64 KiB)`
        : kept.toString('utf8');
  return {
    attempt: attempt.n,
    ...page,
    ...(prompt !== undefined ? { prompt: redact(prompt) } : {}),
    entries: page.entries.map((e) => redactEntry(e, redact)),
    ...(page.raw ? { raw: page.raw.map(redact) } : {}),
  };
}

function redactEntry(e: TranscriptEntry, redact: (text: string) => string): TranscriptEntry {
  return e.kind === 'tool' ? { ...e, input: redact(e.input) } : { ...e, text: redact(e.text) };
}
