/**
 * Waiting out a cluster that does not answer (core restarting while the API server is down, a
 * network drop): only an answer decides anything about a run. An error — connection refused,
 * a 5xx, a timeout — says nothing about the Job, so the question is asked again, with a
 * doubling back-off capped at 30 s, until the cluster answers or the runtime closes.
 */

/** Sleeps `ms`, or less when `signal` aborts; never rejects. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const sleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/** Doubling delays from `firstMs`, capped at `maxMs`; `reset` after a success. */
export class Backoff {
  readonly #first: number;
  readonly #max: number;
  #next: number;

  constructor(firstMs = 500, maxMs = 30_000) {
    this.#first = firstMs;
    this.#max = maxMs;
    this.#next = firstMs;
  }

  next(): number {
    const ms = this.#next;
    this.#next = Math.min(this.#next * 2, this.#max);
    return ms;
  }

  reset(): void {
    this.#next = this.#first;
  }
}

export interface AskOptions<T> {
  /** Stops the asking (the runtime closing): `onAnswer` is then never called. */
  signal: AbortSignal;
  /** What to do with the answer; awaited when it is the first attempt's. */
  onAnswer(answer: T): Promise<void> | void;
  /** Once per wait, at the first attempt that got no answer (not on each retry). */
  onUnreachable(err: unknown): void;
  /** When the cluster answers after `onUnreachable`, before `onAnswer`. */
  onReachable?: () => void;
  /** A failure of `onAnswer` once the wait went to the background. */
  onError?: (err: unknown) => void;
  sleep?: Sleep;
  backoff?: Backoff;
}

/**
 * Asks the cluster once and hands the answer on. When it does not answer, says so once and
 * goes on asking in the background; resolves `'waiting'` at once then, so a caller (core's
 * reattach of every run at start) is not held up by a cluster that is down.
 */
export async function askCluster<T>(
  ask: () => Promise<T>,
  opts: AskOptions<T>,
): Promise<'answered' | 'waiting' | 'stopped'> {
  if (opts.signal.aborted) return 'stopped';
  let first: T;
  try {
    first = await ask();
  } catch (err) {
    if (opts.signal.aborted) return 'stopped';
    opts.onUnreachable(err);
    void untilAnswered(ask, opts)
      .then(async (answer) => {
        if (!answer) return;
        opts.onReachable?.();
        await opts.onAnswer(answer.value);
      })
      .catch((e: unknown) => opts.onError?.(e));
    return 'waiting';
  }
  await opts.onAnswer(first);
  return 'answered';
}

/** Asks until `ask` resolves; undefined when `signal` aborts first. */
export async function untilAnswered<T>(
  ask: () => Promise<T>,
  opts: { signal: AbortSignal; sleep?: Sleep; backoff?: Backoff },
): Promise<{ value: T } | undefined> {
  const wait = opts.sleep ?? sleep;
  const backoff = opts.backoff ?? new Backoff();
  while (!opts.signal.aborted) {
    await wait(backoff.next(), opts.signal);
    if (opts.signal.aborted) return undefined;
    try {
      return { value: await ask() };
    } catch {
      // still no answer: ask again, later
    }
  }
  return undefined;
}
