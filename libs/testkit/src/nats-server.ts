import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinaries } from "./binaries.ts";
import { freePort } from "./ports.ts";
import { ProcessGroup } from "./processes.ts";
import { waitFor } from "./wait.ts";

export interface NatsUser {
  user: string;
  password: string;
  /** Subjects this user may publish to / subscribe to; everything when omitted. */
  publish?: string[];
  subscribe?: string[];
}

export interface NatsServerOptions {
  /** With users, the server requires authentication and enforces their permissions. */
  users?: NatsUser[];
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  port: number;
  storeDir: string;
  /** Stops the server and starts it again on the same port and store (durability tests). */
  restart(): Promise<void>;
  /** Stops the server but keeps its store, so that restart() can bring it back. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  pids(): number[];
  stop(): Promise<void>;
}

/** Starts a real nats-server with JetStream on a free loopback port and a temporary file store. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bins = ensureBinaries(["nats-server"]);
  const stateDir = mkdtempSync(join(tmpdir(), "octorun-nats-"));
  const storeDir = join(stateDir, "jetstream");
  mkdirSync(storeDir);
  const [port, monitorPort] = await Promise.all([freePort(), freePort()]);
  const configFile = join(stateDir, "nats.conf");
  writeFileSync(configFile, natsConfig(port, monitorPort, storeDir, options.users));
  const group = new ProcessGroup(stateDir);

  const launch = async () => {
    group.start("nats-server", bins.natsServer, ["-c", configFile]);
    try {
      await waitFor(
        "nats-server with JetStream",
        async () => (await fetch(`http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`)).ok,
        { timeoutMs: 30_000 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${group.logTail("nats-server")}`);
    }
  };
  await launch();
  const pause = () => group.stopOne("nats-server");
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    pause,
    resume: launch,
    restart: async () => {
      await pause();
      await launch();
    },
    pids: () => group.pids(),
    stop: () => group.stop(),
  };
}

/** nats-server reads JSON as configuration, so the values are written with JSON.stringify. */
function natsConfig(port: number, monitorPort: number, storeDir: string, users?: NatsUser[]): string {
  const config: Record<string, unknown> = {
    host: "127.0.0.1",
    port,
    http: `127.0.0.1:${monitorPort}`,
    jetstream: { store_dir: storeDir, max_memory_store: 256 * 1024 * 1024, max_file_store: 2 * 1024 * 1024 * 1024 },
  };
  if (users && users.length > 0) {
    config["authorization"] = {
      users: users.map((u) => ({
        user: u.user,
        password: u.password,
        ...(u.publish || u.subscribe
          ? {
              permissions: {
                ...(u.publish ? { publish: { allow: u.publish } } : {}),
                ...(u.subscribe ? { subscribe: { allow: u.subscribe } } : {}),
              },
            }
          : {}),
      })),
    };
  }
  return JSON.stringify(config, null, 2);
}
