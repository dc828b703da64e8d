/**
 * The bridge client: `NexusApi` and `RunnerApi` over WebSocket JSON-RPC. Errors come back as
 * the NexusError core threw. When the socket drops, calls in flight fail with
 * BRIDGE_UNAVAILABLE (nothing is retried behind the caller's back: a mutation may or may not
 * have been applied; runners get exactly-once through the outbox and its `op` numbers), the
 * client reconnects with backoff, says hello again and resumes every subscription from the
 * last seq it delivered, so a listener sees each missed event once.
 */
import type {
  EventListener,
  NexusApi,
  RunnerApi,
  SubscribeRequest,
  Subscription,
} from '../../core/api.ts';
import type { GatedAction } from '../../core/domain/definitions.ts';
import type { Approval } from '../../core/domain/run.ts';
import type { MethodName, MethodParams, MethodResult } from '../../protocol/bridge.ts';
import {
  BRIDGE_METHODS,
  type ApiBinding,
  type HelloResult,
  type MethodSpec,
} from '../../protocol/bridge-methods.ts';
import { BridgeTransport, type BridgeClientOptions } from './client-transport.ts';

export type { BridgeClientOptions } from './client-transport.ts';

// The NexusApi and RunnerApi functions are derived from the method table below the class; the
// merged interface tells the type checker they exist.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface BridgeClient extends NexusApi, RunnerApi {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class BridgeClient {
  readonly #t: BridgeTransport;

  private constructor(transport: BridgeTransport) {
    this.#t = transport;
  }

  /** Connects and authenticates; fails with BRIDGE_UNAVAILABLE or BRIDGE_UNAUTHORIZED. */
  static async connect(
    url: string,
    token: string,
    opts: BridgeClientOptions = {},
  ): Promise<BridgeClient> {
    return new BridgeClient(await BridgeTransport.connect(url, token, opts));
  }

  /** The server's hello reply: its version and this client's role. */
  get session(): HelloResult {
    return this.#t.session;
  }

  /** This client's role once it has said hello (kept across reconnects). */
  get role(): HelloResult['role'] | undefined {
    return this.#t.role;
  }

  get connected(): boolean {
    return this.#t.connected;
  }

  /** Resolves once connected (now, or after the next reconnect); rejects when closed for good. */
  whenConnected(): Promise<void> {
    return this.#t.whenConnected();
  }

  /** A typed call of any bridge method. */
  call<M extends MethodName>(method: M, params: MethodParams<M>): Promise<MethodResult<M>> {
    return this.#t.call(method, params);
  }

  /** Stops reconnecting, fails calls in flight and closes the socket. */
  close(): Promise<void> {
    return this.#t.close();
  }

  subscribe(req: SubscribeRequest, listener: EventListener): Promise<Subscription> {
    return this.#t.subscribe(req, listener);
  }

  requestApproval(
    runId: string,
    req: { action: GatedAction; detail: string; timeoutSec: number },
    signal?: AbortSignal,
  ): Promise<Approval> {
    const timeoutMs = req.timeoutSec * 1000 + this.#t.timeoutMs;
    return this.#t.call('runner.requestApproval', { run: runId, ...req }, { timeoutMs, signal });
  }
}

/**
 * One client function per core function bound in the method table: its arguments become the
 * params the table names. Where two methods bind one function (`getRun`: `runs.get` for a
 * person, `runner.getRun` for a runner), a runner-token client calls the runner's.
 */
function deriveApiFunctions(): void {
  const byFn = new Map<string, Array<[MethodName, ApiBinding]>>();
  for (const [method, spec] of Object.entries(BRIDGE_METHODS) as [MethodName, MethodSpec][]) {
    if (spec.api) byFn.set(spec.api.fn, [...(byFn.get(spec.api.fn) ?? []), [method, spec.api]]);
  }
  for (const [fn, methods] of byFn) {
    const paramsOf = (binding: ApiBinding, args: unknown[]): unknown =>
      binding.args ? Object.fromEntries(binding.args.map((k, i) => [k, args[i]])) : args[0];
    Object.defineProperty(BridgeClient.prototype, fn, {
      configurable: true,
      writable: true,
      value(this: BridgeClient, ...args: unknown[]): Promise<unknown> {
        const [method, binding] =
          (this.role === 'runner' && methods.find(([, b]) => b.on === 'runner')) ||
          methods.find(([, b]) => b.on !== 'runner') ||
          methods[0]!;
        return this.call(method, paramsOf(binding, args) as never);
      },
    });
  }
}
deriveApiFunctions();

/** The core functions the method table binds. */
type BoundFunction = {
  [M in MethodName]: (typeof BRIDGE_METHODS)[M] extends { api: { fn: infer F } } ? F : never;
}[MethodName];
/**
 * Every NexusApi and RunnerApi function must be bound in the table (or be one of the
 * transport's, written by hand above): the merged interface promises them all, so a function
 * added to the API without a method fails to compile here instead of being missing at runtime.
 */
type Unbound = Exclude<
  keyof NexusApi | keyof RunnerApi,
  BoundFunction | 'subscribe' | 'requestApproval'
>;
const everyFunctionBound: [Unbound] extends [never] ? true : { unbound: Unbound } = true;
void everyFunctionBound;
