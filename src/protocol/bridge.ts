/**
 * The bridge wire contract: JSON-RPC 2.0 over WebSocket between core (the single writer) and
 * its clients (runners, the connected CLI, the extension, the board). This file holds the
 * envelope, the error codes and the handshake constants; the method table lives in
 * `bridge-methods.ts`. Every byte that arrives on a socket is parsed with these schemas.
 *
 * Like the domain schemas, these use `zod/mini`: the connected CLI loads them on every call.
 */
import * as z from 'zod/mini';

export {
  BRIDGE_METHODS,
  type MethodName,
  type MethodParams,
  type MethodResult,
} from './bridge-methods.ts';
export { EventNotificationParams, type EventNotification } from './bridge-methods.ts';

/** The protocol version a client names in `hello`; bumped on incompatible change. */
export const BRIDGE_PROTOCOL_VERSION = 1;

/** Default largest message either side accepts (ws `maxPayload`), bytes. */
export const DEFAULT_MAX_PAYLOAD = 8 * 1024 * 1024;

/** The server notification that carries one event of a subscription. */
export const EVENT_NOTIFICATION = 'events.event';

export { RpcErrorCode } from './rpc-codes.ts';

/** WebSocket close codes the server uses. */
export const CloseCode = {
  normal: 1000,
  /** Server shutting down. */
  goingAway: 1001,
  /** ws closes with this when a message exceeds `maxPayload`. */
  tooBig: 1009,
  /** Unsupported protocol version in `hello`. */
  protocol: 4400,
  /** Missing or bad credentials; clients must not reconnect with the same token. */
  unauthorized: 4401,
  /** The client reads too slowly (send buffer over the limit); it may reconnect and resume. */
  slowConsumer: 4408,
} as const;

export const RequestId = z.union([z.string().check(z.maxLength(128)), z.int()]);
export type RequestId = z.infer<typeof RequestId>;

/** A call (with `id`) or a notification (without). Params are always an object when present. */
export const RpcRequest = z.strictObject({
  jsonrpc: z.literal('2.0'),
  id: z.optional(RequestId),
  method: z.string().check(z.minLength(1), z.maxLength(128)),
  params: z.optional(z.record(z.string(), z.unknown())),
});
export type RpcRequest = z.infer<typeof RpcRequest>;

export const RpcError = z.object({
  code: z.int(),
  message: z.string(),
  data: z.optional(z.unknown()),
});
export type RpcError = z.infer<typeof RpcError>;

export const RpcSuccess = z.strictObject({
  jsonrpc: z.literal('2.0'),
  id: RequestId,
  result: z.unknown(),
});

export const RpcFailure = z.strictObject({
  jsonrpc: z.literal('2.0'),
  id: z.nullable(RequestId),
  error: RpcError,
});

/** What a client accepts from the server: a response to one of its calls, or a notification. */
export const ServerMessage = z.union([
  RpcSuccess,
  RpcFailure,
  z.strictObject({
    jsonrpc: z.literal('2.0'),
    method: z.string().check(z.minLength(1)),
    params: z.record(z.string(), z.unknown()),
  }),
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

/** `data` of an application error (-32000): the NexusError code plus its structured detail. */
export const ApplicationErrorData = z.looseObject({ code: z.string() });

/** Formats zod issues as `path.to.field: message; …` so a caller sees which field is wrong. */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** The first failing field path, for `data.path` of an invalid-params error. */
export function firstIssuePath(error: z.core.$ZodError): string {
  return (error.issues[0]?.path ?? []).map(String).join('.');
}
