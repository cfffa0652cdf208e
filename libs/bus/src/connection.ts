import { readFileSync } from "node:fs";
import type { Logger } from "@octorun/runtime";
import {
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from "nats";
import { BusUnavailableError } from "./errors.ts";

export interface BusConnectionOptions {
  servers: string[];
  /** Shown by the NATS server; the service name. */
  name: string;
  user?: string;
  password?: string;
  token?: string;
  /** A NATS `.creds` file (JWT + NKey seed). */
  credsFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Prefix of this connection's reply subjects (`serviceInbox`); nats.js's `_INBOX` when absent. */
  inboxPrefix?: string;
  logger?: Logger;
  /** Pause between connection attempts. */
  reconnectWaitMs?: number;
  /** Runs after the first connect and after every reconnect (e.g. to declare the stream again). */
  onConnect?: (connection: BusConnection) => Promise<void>;
}

/**
 * One NATS connection per process that never gives up: it keeps trying to connect and reconnect,
 * says whether it is connected (for readiness), and closes by draining so that in-flight
 * publishes and acknowledgements complete.
 */
export class BusConnection {
  readonly #options: BusConnectionOptions;
  #nc: NatsConnection | undefined;
  #connected = false;
  #closing = false;
  #connecting: Promise<void> | undefined;
  #afterConnect: Promise<void> = Promise.resolve();

  constructor(options: BusConnectionOptions) {
    this.#options = options;
  }

  /** Starts connecting in the background; `connected()` and `ready()` tell when it is up. */
  start(): void {
    this.#connecting ??= this.#connectLoop();
  }

  /** Resolves once connected (and the onConnect hook has run), or rejects after timeoutMs. */
  async ready(timeoutMs = 30_000): Promise<void> {
    this.start();
    const deadline = Date.now() + timeoutMs;
    while (!this.#connected) {
      if (Date.now() > deadline) throw new BusUnavailableError(`not connected to NATS after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.#afterConnect;
  }

  connected(): boolean {
    return this.#connected && !this.#closing;
  }

  /** True once close() was called: nothing on this connection comes back. */
  closed(): boolean {
    return this.#closing;
  }

  /** The live connection; BusUnavailableError while disconnected. */
  connection(): NatsConnection {
    if (!this.#nc || !this.connected()) throw new BusUnavailableError("not connected to NATS");
    return this.#nc;
  }

  jetstream(): JetStreamClient {
    return this.connection().jetstream();
  }

  /**
   * The JetStream API. `checkAPI: false` skips the account check ($JS.API.INFO), for a user allowed
   * only the calls it makes.
   */
  jetstreamManager(options: { checkAPI?: boolean } = {}): Promise<JetStreamManager> {
    return this.connection().jetstreamManager(options);
  }

  /** Drains (pending publishes and acks complete) and closes. */
  async close(): Promise<void> {
    this.#closing = true;
    const nc = this.#nc;
    if (nc && !nc.isClosed()) {
      try {
        await nc.drain();
      } catch {
        await nc.close();
      }
    }
    // A connection attempt in progress is not waited for: it closes itself when it completes.
    if (this.#connecting)
      await Promise.race([this.#connecting, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  }

  connectionOptions(): ConnectionOptions {
    const o = this.#options;
    const options: ConnectionOptions = {
      servers: o.servers,
      name: o.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: o.reconnectWaitMs ?? 1_000,
      pingInterval: 10_000,
      timeout: 5_000,
    };
    if (o.user !== undefined) options.user = o.user;
    if (o.password !== undefined) options.pass = o.password;
    if (o.token !== undefined) options.token = o.token;
    if (o.credsFile !== undefined) {
      const file = o.credsFile;
      // Read on every (re)connect so a rotated, remounted creds file is picked up.
      options.authenticator = credsAuthenticator(() => readFileSync(file));
    }
    if (o.tls) options.tls = { ...o.tls };
    if (o.inboxPrefix !== undefined) options.inboxPrefix = o.inboxPrefix;
    return options;
  }

  async #connectLoop(): Promise<void> {
    const log = this.#options.logger;
    while (!this.#closing) {
      let nc: NatsConnection;
      try {
        nc = await connect(this.connectionOptions());
      } catch (error) {
        // The first connection is retried here (so that close() can stop it); once connected, the
        // client reconnects by itself.
        log?.error("cannot connect to NATS; retrying", { error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, this.#options.reconnectWaitMs ?? 1_000));
        continue;
      }
      this.#nc = nc;
      if (this.#closing) {
        await nc.close();
        return;
      }
      this.#setConnected(true, nc.getServer());
      void this.#watchStatus(nc);
      const closed = await nc.closed();
      this.#connected = false;
      if (!this.#closing) log?.error("NATS connection closed; connecting again", { error: closed?.message });
    }
  }

  #setConnected(connected: boolean, server: string): void {
    this.#connected = connected;
    const log = this.#options.logger;
    if (!connected) {
      if (!this.#closing) log?.warn("disconnected from NATS", { server });
      return;
    }
    log?.info("connected to NATS", { server });
    if (this.#options.onConnect) this.#afterConnect = this.#runOnConnect(this.#options.onConnect);
  }

  /** Runs the after-connect step until it succeeds (JetStream may still be recovering) or the link drops. */
  async #runOnConnect(hook: (connection: BusConnection) => Promise<void>): Promise<void> {
    for (let attempt = 1; this.connected(); attempt++) {
      try {
        await hook(this);
        return;
      } catch (error) {
        const delayMs = Math.min(5_000, (this.#options.reconnectWaitMs ?? 1_000) * attempt);
        this.#options.logger?.error("after-connect step failed; retrying", {
          error: (error as Error).message,
          delayMs,
        });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") this.#setConnected(false, String(status.data));
      else if (status.type === "reconnect") this.#setConnected(true, String(status.data));
      else if (status.type === "error")
        this.#options.logger?.error("NATS reported an error", { error: String(status.data) });
      else if (status.type === "ldm") this.#options.logger?.warn("NATS server entering lame duck mode");
    }
  }
}
