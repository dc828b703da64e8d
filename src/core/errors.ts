/**
 * Named errors with stable codes. The code survives the bridge (`{code, message, data}`) and
 * decides the CLI's exit code, so a caller never has to parse a message.
 */

/** Exit codes shared by the CLI, the runner and the bridge. */
export const ExitCode = {
  ok: 0,
  exhausted: 1,
  /** The same 1, from `nexus task set … completed` on a passive run: a check failed. */
  checkFailed: 1,
  blocked: 2,
  badInput: 3,
  backendFailure: 4,
  cancelled: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'DEFINITION_INVALID'
  | 'DEFINITION_NOT_FOUND'
  | 'RUN_NOT_FOUND'
  | 'RUN_AMBIGUOUS'
  | 'TASK_NOT_FOUND'
  | 'TASK_INVALID'
  | 'STATE_CORRUPT'
  | 'STATE_LOCKED'
  | 'RUN_STATE_CONFLICT'
  | 'USAGE'
  | 'PAYLOAD_INVALID'
  | 'BRIDGE_UNAVAILABLE'
  | 'BRIDGE_UNAUTHORIZED'
  | 'BRIDGE_PROTOCOL'
  | 'APPROVAL_NOT_FOUND'
  | 'APPROVAL_FORBIDDEN'
  | 'MEMORY_NOT_FOUND'
  | 'MEMORY_FORBIDDEN'
  | 'SANDBOX_UNAVAILABLE'
  | 'HOOK_REJECTED'
  | 'DEPENDENCY_CYCLE'
  | 'CALL_DEPTH_EXCEEDED'
  | 'BACKEND_FAILURE'
  | 'PATCH_REFUSED'
  | 'CANCELLED'
  | 'INTERNAL';

const exitCodeFor: Record<ErrorCode, ExitCode> = {
  DEFINITION_INVALID: ExitCode.badInput,
  DEFINITION_NOT_FOUND: ExitCode.badInput,
  RUN_NOT_FOUND: ExitCode.badInput,
  RUN_AMBIGUOUS: ExitCode.badInput,
  TASK_NOT_FOUND: ExitCode.badInput,
  TASK_INVALID: ExitCode.badInput,
  STATE_CORRUPT: ExitCode.badInput,
  STATE_LOCKED: ExitCode.badInput,
  RUN_STATE_CONFLICT: ExitCode.badInput,
  USAGE: ExitCode.badInput,
  PAYLOAD_INVALID: ExitCode.badInput,
  BRIDGE_UNAVAILABLE: ExitCode.badInput,
  BRIDGE_UNAUTHORIZED: ExitCode.badInput,
  BRIDGE_PROTOCOL: ExitCode.badInput,
  APPROVAL_NOT_FOUND: ExitCode.badInput,
  APPROVAL_FORBIDDEN: ExitCode.badInput,
  MEMORY_NOT_FOUND: ExitCode.badInput,
  MEMORY_FORBIDDEN: ExitCode.badInput,
  SANDBOX_UNAVAILABLE: ExitCode.badInput,
  /** A `task_transition` hook refused a status change (like a failing check). */
  HOOK_REJECTED: ExitCode.checkFailed,
  DEPENDENCY_CYCLE: ExitCode.badInput,
  CALL_DEPTH_EXCEEDED: ExitCode.badInput,
  BACKEND_FAILURE: ExitCode.backendFailure,
  PATCH_REFUSED: ExitCode.badInput,
  CANCELLED: ExitCode.cancelled,
  INTERNAL: ExitCode.backendFailure,
};

/** Every error code, from the one table above (the bridge knows exactly these). */
export const ERROR_CODES: readonly ErrorCode[] = Object.keys(exitCodeFor) as ErrorCode[];

/**
 * What makes an error a NexusError, whichever copy of this module built it: the agent's
 * `nexus task` bundle and the embedded store it loads on demand are two files, each with its
 * own copy of this class (esbuild.mjs), and an error thrown in one is judged in the other.
 */
const BRAND = Symbol.for('nexus.NexusError');

export class NexusError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  /** Structured detail safe to show and to send over the bridge (never secrets). */
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, data?: Record<string, unknown>) {
    super(message);
    this.name = 'NexusError';
    this.code = code;
    this.data = data;
  }

  get exitCode(): ExitCode {
    return exitCodeFor[this.code];
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && BRAND in value;
  }
}

export const isNexusError = (err: unknown): err is NexusError => err instanceof NexusError;

/** A definition file (agent, skill, assignment) that cannot be used; names file, field, line. */
export function definitionError(
  file: string,
  message: string,
  where: { field?: string; line?: number } = {},
): NexusError {
  const loc = where.line !== undefined ? `${file}:${where.line}` : file;
  const field = where.field ? ` (field '${where.field}')` : '';
  return new NexusError('DEFINITION_INVALID', `${loc}${field}: ${message}`, {
    file,
    ...(where.field !== undefined ? { field: where.field } : {}),
    ...(where.line !== undefined ? { line: where.line } : {}),
  });
}

export function usageError(message: string): NexusError {
  return new NexusError('USAGE', message);
}

/** Turns anything thrown into one line for a person; the single place shells format errors. */
export function toUserMessage(err: unknown): string {
  if (err instanceof NexusError) return err.message;
  if (err instanceof Error) return `internal error: ${err.message}`;
  return `internal error: ${String(err)}`;
}

export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof NexusError ? err.exitCode : ExitCode.backendFailure;
}
