/**
 * The bridge's JSON-RPC error codes, in a module of their own without zod: the agent's one-shot
 * `nexus task` client (bridge/one-shot.ts) needs them and nothing else of the wire contract.
 */
/** JSON-RPC error codes the bridge uses; stable, part of the contract. */
export const RpcErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  /** A NexusError (or an unexpected failure) in core; `data.code` is the NexusError code. */
  application: -32000,
  /** No `hello` yet, or a bad token. The socket is closed with {@link CloseCode.unauthorized}. */
  unauthenticated: -32001,
  /** Authenticated, but the role may not do this (a runner outside its run, deciding approvals). */
  forbidden: -32003,
} as const;
export type RpcErrorCode = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];
