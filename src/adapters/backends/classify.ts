/**
 * Failure classification shared by the backends. The runner's loop acts on the kind: `auth`
 * stops the run (retrying cannot help), `usage_limit` backs off (using `retryAfterMs` when the
 * provider said), `transient` retries, `fatal` fails the attempt.
 */
import type { BackendFailure } from '../../core/ports.ts';

const AUTH =
  /\b(401|403)\b|authentication_error|permission_error|invalid[ _-]?(api[ _-]?key|x-api-key|bearer)|incorrect api key|unauthori[sz]ed|forbidden|not logged in|please run \/login|invalid_api_key|missing (an )?api key|no api key/i;
const USAGE =
  /\b429\b|rate[ _-]?limit|usage[ _-]?limit|too many requests|quota|insufficient_quota|usage_limit_reached/i;
const TRANSIENT =
  /\b(500|502|503|504|529)\b|overloaded|high demand|temporar(y|ily)|try again later|internal server error|server_error|api_error|bad gateway|service unavailable|gateway timeout|timed? ?out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket hang up|network|connection (error|refused|reset|closed)|stream (disconnected|error)|fetch failed/i;

/**
 * Classifies a failure from an HTTP status (when known) and the message text. Status wins;
 * text is matched auth → usage limit → transient, so "401 … retry" is still `auth`.
 */
export function classifyFailure(
  message: string,
  status?: number,
  retryAfterMs?: number,
): BackendFailure {
  const text = message.trim() || 'the backend failed without a message';
  const withRetry = (f: BackendFailure): BackendFailure => {
    const after = retryAfterMs ?? parseRetryAfter(text);
    return after !== undefined ? { ...f, retryAfterMs: after } : f;
  };
  if (status === 401 || status === 403) return { kind: 'auth', message: text };
  if (status === 429) return withRetry({ kind: 'usage_limit', message: text });
  if (status !== undefined && status >= 500) return { kind: 'transient', message: text };
  if (AUTH.test(text)) return { kind: 'auth', message: text };
  if (USAGE.test(text)) return withRetry({ kind: 'usage_limit', message: text });
  if (TRANSIENT.test(text)) return { kind: 'transient', message: text };
  return { kind: 'fatal', message: text };
}

/** Finds "retry after 30s", "try again in 1.5 seconds", "retry-after: 20" … in a message. */
export function parseRetryAfter(text: string): number | undefined {
  const m =
    /(?:retry[- ]after|try again in|retry in|reset(?:s)? in)\D{0,3}(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|sec|seconds?|m|min|minutes?|h|hours?)?/i.exec(
      text,
    );
  if (!m) return undefined;
  const value = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  if (unit.startsWith('ms') || unit.startsWith('milli')) return Math.round(value);
  if (unit.startsWith('h')) return Math.round(value * 3_600_000);
  if (unit === 'm' || unit.startsWith('min')) return Math.round(value * 60_000);
  return Math.round(value * 1000);
}

/** Reads an HTTP `retry-after` header value (seconds or an HTTP date) as milliseconds. */
export function retryAfterHeader(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
