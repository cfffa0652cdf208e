/** A request the webhook cannot review (wrong content type, not JSON, not a review, unknown kind). */
export class BadRequestError extends Error {
  override name = "BadRequestError";
  readonly statusCode: number;
  constructor(statusCode: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.statusCode = statusCode;
  }
}
