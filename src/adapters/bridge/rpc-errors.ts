/**
 * NexusError <-> JSON-RPC error objects. The server turns whatever core throws into an error
 * object; the client turns it back into a NexusError with the same code, so a caller cannot
 * tell an embedded core from a connected one.
 */
import { ERROR_CODES, NexusError, type ErrorCode } from '../../core/errors.ts';
import type { RpcError } from '../../protocol/bridge.ts';
import { RpcErrorCode } from '../../protocol/rpc-codes.ts';

/** An error the server answers with as-is (protocol-level, not from core). */
export class RpcFault extends Error {
  readonly code: RpcErrorCode;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: RpcErrorCode, message: string, data?: Record<string, unknown>) {
    super(message);
    this.name = 'RpcFault';
    this.code = code;
    this.data = data;
  }
}

const KNOWN_CODES: ReadonlySet<string> = new Set<ErrorCode>(ERROR_CODES);

/** Server side: anything thrown by a handler becomes an error object. */
export function toRpcError(err: unknown): RpcError {
  if (err instanceof RpcFault) {
    return { code: err.code, message: err.message, ...(err.data ? { data: err.data } : {}) };
  }
  if (err instanceof NexusError) {
    return {
      code: RpcErrorCode.application,
      message: err.message,
      data: { ...(err.data ?? {}), code: err.code },
    };
  }
  // Unexpected failures keep their message (core's own errors carry no secrets) but get the
  // INTERNAL code, so the CLI reports them as internal errors with the right exit code.
  const message = err instanceof Error ? err.message : String(err);
  return { code: RpcErrorCode.application, message, data: { code: 'INTERNAL' } };
}

/** Client side: an error object becomes the NexusError core threw (or a bridge error). */
export function fromRpcError(error: RpcError): NexusError {
  const { code, message } = error;
  switch (code) {
    case RpcErrorCode.application: {
      // \`{ code: string, … }\` (ApplicationErrorData), checked by hand: this runs on the agent's
      // one-shot path, which loads no schema.
      const data = error.data as Record<string, unknown> | undefined;
      if (
        typeof data === 'object' &&
        data !== null &&
        typeof data.code === 'string' &&
        KNOWN_CODES.has(data.code)
      ) {
        const { code: nexusCode, ...rest } = data;
        return new NexusError(nexusCode as ErrorCode, message, rest);
      }
      return new NexusError('INTERNAL', message, { rpc: code });
    }
    case RpcErrorCode.invalidParams:
      return new NexusError('USAGE', message, { rpc: code, ...dataOf(error) });
    case RpcErrorCode.unauthenticated:
    case RpcErrorCode.forbidden:
      return new NexusError('BRIDGE_UNAUTHORIZED', message, { rpc: code, ...dataOf(error) });
    default:
      return new NexusError('BRIDGE_PROTOCOL', message, { rpc: code, ...dataOf(error) });
  }
}

function dataOf(error: RpcError): Record<string, unknown> {
  const d = error.data;
  return typeof d === 'object' && d !== null && !Array.isArray(d)
    ? (d as Record<string, unknown>)
    : {};
}
