/**
 * The report channel of a runner in a pod: its container's stdout, which core reads through
 * the pod log, so nothing in the cluster ever connects to the person's machine. Each report is
 * one line `NEXUS1 <mac> <json>`, the MAC an HMAC-SHA256 over the JSON with the run's report
 * key. The key reaches the runner through the Job's Secret (moved into memory-backed storage
 * and deleted once read): the agent, which shares the container, can write to the container's
 * stdout but cannot sign, so a line it forges is refused and recorded, never applied. Reports
 * keep their outbox `op`, so a line read twice (a log stream resumed after a drop) is applied
 * once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const REPORT_LINE_PREFIX = 'NEXUS1 ';

export function signReportLine(key: Buffer, json: string): string {
  return `${REPORT_LINE_PREFIX}${mac(key, json)} ${json}`;
}

export type ParsedLine =
  | { kind: 'report'; json: unknown }
  | { kind: 'forged'; reason: string }
  | { kind: 'text'; text: string };

/** A line of the pod log (its `timestamps=true` prefix already removed). */
export function parseReportLine(key: Buffer, line: string): ParsedLine {
  if (!line.startsWith(REPORT_LINE_PREFIX)) return { kind: 'text', text: line };
  const rest = line.slice(REPORT_LINE_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) return { kind: 'forged', reason: 'no signature' };
  const given = Buffer.from(rest.slice(0, space), 'base64url');
  const json = rest.slice(space + 1);
  const expected = Buffer.from(mac(key, json), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { kind: 'forged', reason: 'bad signature' };
  try {
    return { kind: 'report', json: JSON.parse(json) };
  } catch {
    return { kind: 'forged', reason: 'signed but not JSON' };
  }
}

/**
 * Splits a `timestamps=true` pod-log line into its RFC 3339 time and text: the time is the
 * cursor from which a dropped follow resumes (`sinceTime`).
 */
export function splitTimestamp(line: string): { time: string | undefined; text: string } {
  const space = line.indexOf(' ');
  if (space > 0 && /^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)$/.test(line.slice(0, space)))
    return { time: line.slice(0, space), text: line.slice(space + 1) };
  return { time: undefined, text: line };
}

function mac(key: Buffer, json: string): string {
  return createHmac('sha256', key).update(json).digest('base64url');
}
