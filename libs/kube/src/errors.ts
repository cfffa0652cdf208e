/** A non-2xx answer from the apiserver, with the Status it sent. */
export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string | undefined;
  readonly method: string;
  readonly path: string;
  readonly body: unknown;

  constructor(method: string, path: string, statusCode: number, body: unknown, options?: { cause?: unknown }) {
    const status = body as { message?: string; reason?: string } | undefined;
    const detail = typeof status?.message === "string" ? status.message : `HTTP ${statusCode}`;
    super(`${method} ${path}: ${statusCode} ${detail}`, options);
    this.name = "KubeApiError";
    this.statusCode = statusCode;
    this.reason = typeof status?.reason === "string" ? status.reason : undefined;
    this.method = method;
    this.path = path;
    this.body = body;
  }
}

/** The HTTP status of an apiserver error, from this library's client or from @kubernetes/client-node's typed APIs. */
export function statusCodeOf(error: unknown): number | undefined {
  if (error instanceof KubeApiError) return error.statusCode;
  if (typeof error === "object" && error !== null) {
    const e = error as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === "number") return e.code;
    if (typeof e.statusCode === "number") return e.statusCode;
  }
  return undefined;
}

export const isNotFound = (error: unknown): boolean => statusCodeOf(error) === 404;
export const isConflict = (error: unknown): boolean => statusCodeOf(error) === 409;
export const isAlreadyExists = (error: unknown): boolean =>
  error instanceof KubeApiError ? error.statusCode === 409 && error.reason === "AlreadyExists" : false;

/** A reconcile failure that retrying cannot fix (bad spec, missing permission): logged and counted, not requeued. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TerminalError";
  }
}

/** The kubeconfig could not be found or read. */
export class KubeConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KubeConfigError";
  }
}
