// A byte forwarder between two endpoints, each `tcp:HOST:PORT` or `unix:PATH`:
//   node forwarder.ts <listen> <connect>
// Started inside a test's network namespace (`ip netns exec`) it carries what arrives at the
// namespace's address to a unix socket, and on the host from that socket to a loopback port.
import { connect, createServer, type Socket } from "node:net";

type Endpoint = { path: string } | { host: string; port: number };

function endpoint(text: string): Endpoint {
  if (text.startsWith("unix:")) return { path: text.slice(5) };
  const match = /^tcp:(.+):(\d+)$/.exec(text);
  if (!match) throw new Error(`not an endpoint (tcp:HOST:PORT or unix:PATH): ${text}`);
  return { host: match[1]!, port: Number(match[2]) };
}

const [listenAt, connectTo] = process.argv.slice(2).map(endpoint) as [Endpoint, Endpoint];
const server = createServer((inbound: Socket) => {
  const outbound = connect(connectTo);
  inbound.pipe(outbound).pipe(inbound);
  const close = () => {
    inbound.destroy();
    outbound.destroy();
  };
  inbound.on("error", close).on("close", close);
  outbound.on("error", close).on("close", close);
});
server.listen(listenAt, () => process.stdout.write(`forwarding ${process.argv[2]} → ${process.argv[3]}\n`));
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0));
