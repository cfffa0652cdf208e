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
  const [port, monitorPort] = await Promise.all([freePort(), freePort()]);
  return startNode({ port, monitorPort, users: options.users, healthPath: "/healthz?js-enabled-only=true" });
}

export interface NatsCluster {
  /** Every node's URL, comma-separated, as services take NATS_URL. */
  url: string;
  nodes: NatsServer[];
  pids(): number[];
  stop(): Promise<void>;
}

/**
 * Starts a JetStream cluster of `size` nats-servers on loopback (routes between all of them, each
 * with its own file store), and resolves once every node reports JetStream healthy, which in a
 * cluster means a meta leader was elected. A node paused and resumed rejoins with its store.
 */
export async function startNatsCluster(options: NatsServerOptions & { size?: number } = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const ports = await Promise.all(
    Array.from({ length: size }, async () => {
      const [port, monitorPort, clusterPort] = await Promise.all([freePort(), freePort(), freePort()]);
      return { port, monitorPort, clusterPort };
    }),
  );
  const nodes: NatsServer[] = [];
  try {
    await Promise.all(
      ports.map(async (p, i) => {
        nodes[i] = await startNode({
          ...p,
          users: options.users,
          // The full health check: in a cluster JetStream is healthy once it has a meta leader.
          healthPath: "/healthz",
          cluster: {
            serverName: `octorun-nats-${i}`,
            listen: p.clusterPort,
            routes: ports.filter((_, j) => j !== i).map((o) => o.clusterPort),
          },
        });
      }),
    );
  } catch (error) {
    await Promise.all(nodes.filter(Boolean).map((n) => n.stop()));
    throw error;
  }
  return {
    url: nodes.map((n) => n.url).join(","),
    nodes,
    pids: () => nodes.flatMap((n) => n.pids()),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

interface NodeOptions {
  port: number;
  monitorPort: number;
  users: NatsUser[] | undefined;
  healthPath: string;
  cluster?: { serverName: string; listen: number; routes: number[] };
}

async function startNode(options: NodeOptions): Promise<NatsServer> {
  const bins = ensureBinaries(["nats-server"]);
  const stateDir = mkdtempSync(join(tmpdir(), "octorun-nats-"));
  const storeDir = join(stateDir, "jetstream");
  mkdirSync(storeDir);
  const { port, monitorPort } = options;
  const configFile = join(stateDir, "nats.conf");
  writeFileSync(configFile, natsConfig(port, monitorPort, storeDir, options.users, options.cluster));
  const group = new ProcessGroup(stateDir);

  const launch = async () => {
    group.start("nats-server", bins.natsServer, ["-c", configFile]);
    try {
      await waitFor(
        "nats-server with JetStream",
        async () => (await fetch(`http://127.0.0.1:${monitorPort}${options.healthPath}`)).ok,
        { timeoutMs: 60_000 },
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
function natsConfig(
  port: number,
  monitorPort: number,
  storeDir: string,
  users: NatsUser[] | undefined,
  cluster: NodeOptions["cluster"],
): string {
  const config: Record<string, unknown> = {
    host: "127.0.0.1",
    port,
    http: `127.0.0.1:${monitorPort}`,
    jetstream: { store_dir: storeDir, max_memory_store: 256 * 1024 * 1024, max_file_store: 2 * 1024 * 1024 * 1024 },
  };
  if (cluster) {
    config["server_name"] = cluster.serverName;
    config["cluster"] = {
      name: "octorun",
      listen: `127.0.0.1:${cluster.listen}`,
      routes: cluster.routes.map((p) => `nats-route://127.0.0.1:${p}`),
    };
  }
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
