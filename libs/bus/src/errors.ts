/** NATS or JetStream cannot take the request now (disconnected, no answer in time, no stream); retry later. */
export class BusUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BusUnavailableError";
  }
}

/** The bus answered but refused (permissions, a stream configured differently); retrying will not help. */
export class BusConfigurationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BusConfigurationError";
  }
}
