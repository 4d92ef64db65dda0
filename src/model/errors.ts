// Errors with a stable machine-readable code and a cause, shared by every layer.
// This is the one value (not type) in src/model: every layer must throw the same class so the CLI
// can tell expected failures (printed as one line) from bugs (which deserve a stack trace).

export type ErrorCode =
  | 'INVENTORY_INVALID'
  | 'USAGE'
  | 'HOST_UNREACHABLE'
  | 'HOST_KEY_UNKNOWN'
  | 'HOST_KEY_CHANGED'
  | 'HOST_KEY_REVOKED'
  | 'AUTH_FAILED'
  | 'LOST_CONNECTION'
  | 'TIMEOUT'
  | 'COMMAND_FAILED'
  | 'NOT_CONNECTED'
  | 'ENGINE_UNAVAILABLE'
  | 'PROBE_FAILED'
  /** `gauntlet lab`: a build step, a VM boot or a host tool failed. */
  | 'LAB_FAILED';

export class GauntletError extends Error {
  readonly code: ErrorCode;
  /** Extra lines shown under the message (one per problem, for validation). */
  readonly details: string[];

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: string[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GauntletError';
    this.code = code;
    this.details = options.details ?? [];
  }
}

export function isGauntletError(err: unknown): err is GauntletError {
  return err instanceof GauntletError;
}
