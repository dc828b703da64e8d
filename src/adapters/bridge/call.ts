/**
 * One bridge call, whatever carried it (a WebSocket connection, or a one-shot `POST /rpc`):
 * the method looked up, its params validated, the caller's role checked, the handler run. Throws
 * an RpcFault or core's NexusError; the carrier turns either into the error reply.
 */
import type { NexusApi } from '../../core/api.ts';
import { RpcErrorCode, describeIssues, firstIssuePath } from '../../protocol/bridge.ts';
import { BRIDGE_METHODS, isMethodName, type MethodName } from '../../protocol/bridge-methods.ts';
import type { BridgeRole } from './auth.ts';
import { authorize, mayReadChild, type CallContext, type Handlers } from './handlers.ts';
import { RpcFault } from './rpc-errors.ts';

export interface CallDeps {
  api: NexusApi;
  handlers: Handlers;
  /** A run-scoped principal tried something outside its scope: recorded in its run's audit. */
  onRefused?: ((role: Exclude<BridgeRole, { kind: 'user' }>, method: string) => void) | undefined;
}

export async function callMethod(
  deps: CallDeps,
  role: BridgeRole,
  method: string,
  rawParams: unknown,
  ctx: CallContext,
): Promise<unknown> {
  if (method === 'hello') throw new RpcFault(RpcErrorCode.invalidRequest, 'hello was already said');
  if (!isMethodName(method)) {
    throw new RpcFault(RpcErrorCode.methodNotFound, `unknown method '${method}'`, { method });
  }
  const parsed = BRIDGE_METHODS[method].params.safeParse(rawParams);
  if (!parsed.success) {
    throw new RpcFault(
      RpcErrorCode.invalidParams,
      `invalid params for ${method}: ${describeIssues(parsed.error)}`,
      { method, path: firstIssuePath(parsed.error) },
    );
  }
  try {
    authorize(role, method, parsed.data);
  } catch (err) {
    if (!(await mayReadChild(role, method, parsed.data, deps.api))) {
      if (role.kind !== 'user') deps.onRefused?.(role, method);
      throw err;
    }
  }
  const handler = deps.handlers[method as Exclude<MethodName, 'hello'>] as (
    p: unknown,
    ctx: CallContext,
  ) => Promise<unknown>;
  return handler(parsed.data, ctx);
}
