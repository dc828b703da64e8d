/**
 * Container logs as the kubelet keeps and serves them: stdout and stderr interleaved by line in
 * arrival order, each line stamped (RFC 3339 with nanoseconds, trailing zeros trimmed as Go's
 * RFC3339Nano does, so stamps vary in width), served with `follow`, `timestamps`, `sinceTime`,
 * `sinceSeconds`, `tailLines` and `limitBytes`.
 */
import type { ServerResponse } from 'node:http';
import { badRequest, notFound } from './resources.ts';
import type { Pod } from './types.ts';

export interface LogLine {
  /** Epoch milliseconds, with the sub-millisecond part. */
  at: number;
  /** RFC3339Nano, what `timestamps=true` prefixes. */
  stamp: string;
  text: string;
  /** False for a last line the process left without a newline. */
  newline: boolean;
}

// Wall-clock nanoseconds: the epoch once, then the monotonic clock (a double cannot hold both).
const epochNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
let lastNs = 0n;

/** A wall-clock stamp with nanosecond digits; strictly increasing within this process. */
export function stampNow(): { at: number; stamp: string } {
  let ns = epochNs + process.hrtime.bigint();
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  const seconds = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return { at: Number(ns) / 1e6, stamp: `${base}${frac ? '.' + frac : ''}Z` };
}

export class ContainerLog {
  readonly lines: LogLine[] = [];
  started = false;
  ended = false;
  private readonly partial = new Map<string, string>();
  private readonly followers = new Set<(line: LogLine | undefined) => void>();

  /** Bytes from one of the process's streams; whole lines are logged as they complete. */
  write(stream: 'stdout' | 'stderr', chunk: Buffer | string): void {
    const text = (this.partial.get(stream) ?? '') + chunk.toString();
    const parts = text.split('\n');
    this.partial.set(stream, parts.pop() ?? '');
    for (const line of parts) this.push(line, true);
  }

  /** The process is gone: a last unterminated line is logged as it is, then followers end. */
  end(): void {
    if (this.ended) return;
    for (const rest of this.partial.values()) if (rest) this.push(rest, false);
    this.partial.clear();
    this.ended = true;
    for (const f of [...this.followers]) f(undefined);
    this.followers.clear();
  }

  text(): string {
    return this.lines.map((l) => l.text + (l.newline ? '\n' : '')).join('');
  }

  follow(fn: (line: LogLine | undefined) => void): () => void {
    this.followers.add(fn);
    return () => this.followers.delete(fn);
  }

  private push(text: string, newline: boolean): void {
    const line = { ...stampNow(), text, newline };
    this.lines.push(line);
    for (const f of [...this.followers]) f(line);
  }
}

const truthy = (v: string | undefined) => v === 'true' || v === '1';

/** Which lines a log request asks for (everything but `follow`). */
function selected(log: ContainerLog, query: Record<string, string>): LogLine[] {
  let lines = log.lines;
  if (query.sinceTime !== undefined && query.sinceSeconds !== undefined) {
    throw badRequest('at most one of sinceTime or sinceSeconds may be specified');
  }
  if (query.sinceTime !== undefined) {
    const t = Date.parse(query.sinceTime);
    if (Number.isNaN(t)) throw badRequest(`parsing time "${query.sinceTime}" as RFC3339 failed`);
    // The API server hands sinceTime on to the kubelet as RFC 3339 *seconds*: any fraction is
    // lost, so resuming from a line's own stamp replays the rest of that second.
    const since = Math.floor(t / 1000) * 1000;
    lines = lines.filter((l) => l.at >= since);
  }
  if (query.sinceSeconds !== undefined) {
    const since = Date.now() - Number(query.sinceSeconds) * 1000;
    lines = lines.filter((l) => l.at >= since);
  }
  if (query.tailLines !== undefined) {
    const n = Number(query.tailLines);
    lines = n <= 0 ? [] : lines.slice(-n);
  }
  return lines;
}

/**
 * Answers a log request for one container (errors are the caller's). Returns a function that
 * ends the response early (a dropped stream), or undefined when the response is complete.
 */
export function serveLog(
  res: ServerResponse,
  log: ContainerLog,
  query: Record<string, string>,
): { end: () => void; reset: () => void } | undefined {
  const lines = selected(log, query);
  const stamps = truthy(query.timestamps);
  let budget = query.limitBytes !== undefined ? Number(query.limitBytes) : Infinity;
  // Logs are plain text on a real server too; only its errors are JSON.
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  const emit = (l: LogLine): boolean => {
    const out = Buffer.from(`${stamps ? l.stamp + ' ' : ''}${l.text}${l.newline ? '\n' : ''}`);
    if (out.length >= budget) {
      res.end(out.subarray(0, budget));
      return false;
    }
    budget -= out.length;
    res.write(out);
    return true;
  };
  for (const l of lines) if (!emit(l)) return undefined;
  if (!truthy(query.follow) || log.ended) {
    res.end();
    return undefined;
  }
  const stop = log.follow((l) => {
    if (l === undefined) res.end();
    else if (!emit(l)) stop();
  });
  res.on('close', stop);
  return {
    end: () => {
      stop();
      res.end();
    },
    reset: () => {
      stop();
      res.socket?.destroy();
    },
  };
}

/**
 * GET pods/NAME/log: the checks the API server and kubelet make, in their words, then the
 * log. Returns handles to drop a followed stream, or undefined once answered in full.
 */
export function servePodLogs(
  pod: Pod | undefined,
  name: string,
  logOf: (container: string) => ContainerLog | undefined,
  res: ServerResponse,
  query: Record<string, string>,
): ReturnType<typeof serveLog> {
  if (!pod) throw notFound('pods', name);
  const mains = pod.spec.containers.map((c) => c.name);
  const inits = (pod.spec.initContainers ?? []).map((c) => c.name);
  let container = query.container;
  if (!container) {
    if (mains.length !== 1 || inits.length > 0) {
      const orInit = inits.length ? ` or one of the init containers: [${inits.join(' ')}]` : '';
      const choose = `choose one of: [${mains.join(' ')}]${orInit}`;
      throw badRequest(`a container name must be specified for pod ${name}, ${choose}`);
    }
    container = mains[0] ?? '';
  }
  if (![...mains, ...inits].includes(container)) {
    throw badRequest(`container ${container} is not valid for pod ${name}`);
  }
  if (!pod.spec.nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  if (truthy(query.previous)) {
    throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
  }
  const log = logOf(container);
  if (!log?.started) {
    const statuses = [
      ...(pod.status?.containerStatuses ?? []),
      ...(pod.status?.initContainerStatuses ?? []),
    ];
    const reason =
      statuses.find((s) => s.name === container)?.state.waiting?.reason ?? 'ContainerCreating';
    const why: Record<string, string> = {
      ErrImagePull: "image can't be pulled",
      ImagePullBackOff: 'trying and failing to pull image',
    };
    const waiting = why[reason] ?? reason;
    throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${waiting}`);
  }
  return serveLog(res, log, query);
}
