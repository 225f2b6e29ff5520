/**
 * The one error type the domain throws. Route handlers render it once, as
 * `{ "error": { "code", "message", "details" } }`, with the status its code maps to.
 * The domain never throws transport errors; it names what went wrong.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  invalid_json: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  bad_gateway: 502,
  unavailable: 503,
  gateway_timeout: 504,
  insufficient_storage: 507,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class BerthError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;
  /** Set when lib/ already wrote this refusal's audit event (with more context than the HTTP layer has). */
  audited = false;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = "BerthError";
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export type ErrorBody = { error: { code: ErrorCode; message: string; details?: unknown } };

export function errorBody(error: BerthError): ErrorBody {
  return { error: { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) } };
}

/**
 * Database errors, mapped by code (never by message text): Prisma's known
 * request errors, and PostgreSQL's SQLSTATE for the queries sent through `pg`
 * (lib/db/sql.ts).
 */
export function fromPrismaError(error: unknown, what: string): BerthError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "P2002" || code === "23505") return new BerthError("conflict", `${what} already exists`);
  if (code === "P2025") return new BerthError("not_found", `${what} was not found`);
  if (code === "P2003" || code === "23503") return new BerthError("conflict", `${what} is still referenced by other records`);
  return undefined;
}
