// The GitHub simulator as a process of docker-compose.yaml: an organization with one repository,
// a personal access token for the controller (written to SIM_CREDENTIALS_DIR/token), workflow_job
// webhooks signed and sent to the ingress, and runner emulation on the cluster of KUBECONFIG.
// Queue jobs through its control API, e.g.
//   curl -X POST localhost:8090/_simulator/jobs -d '{"repository":"octo-org/widgets","labels":["self-hosted"]}'
//
// Settings (environment): SIM_PORT (8090), SIM_ORGANIZATION (octo-org), SIM_REPOSITORY
// (<organization>/widgets), SIM_CREDENTIALS_DIR (/shared/github), SIM_WEBHOOK_URL,
// SIM_WEBHOOK_SECRET or SIM_WEBHOOK_SECRET_FILE, KUBECONFIG (runner emulation; none without it).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { GitHubSimulator } from "../../libs/testkit/src/index.ts";

function setting(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === "") {
    process.stderr.write(`${JSON.stringify({ level: "error", message: `${name} is required` })}\n`);
    process.exit(1);
  }
  return value;
}

const port = Number(setting("SIM_PORT", "8090"));
const organization = setting("SIM_ORGANIZATION", "octo-org");
const repository = setting("SIM_REPOSITORY", `${organization}/widgets`);
const credentialsDir = setting("SIM_CREDENTIALS_DIR", "/shared/github");
const webhookUrl = process.env.SIM_WEBHOOK_URL;
const webhookSecret = process.env.SIM_WEBHOOK_SECRET_FILE
  ? readFileSync(process.env.SIM_WEBHOOK_SECRET_FILE, "utf8").trim()
  : process.env.SIM_WEBHOOK_SECRET;
const kubeconfig = process.env.KUBECONFIG;

const simulator = await new GitHubSimulator({
  port,
  ...(webhookUrl && webhookSecret ? { webhook: { url: webhookUrl, secret: webhookSecret } } : {}),
  ...(kubeconfig ? { runners: { kubeConfig: kubeconfig } } : {}),
}).start();
simulator.addOrganization(organization);
simulator.addRepository(repository);
const token = simulator.addPersonalAccessToken({ scopes: ["repo", "admin:org", "manage_runners:enterprise"] });

// Written whole, then renamed: the controller never reads half a token.
mkdirSync(credentialsDir, { recursive: true });
writeFileSync(join(credentialsDir, ".token"), token, { mode: 0o644 });
renameSync(join(credentialsDir, ".token"), join(credentialsDir, "token"));

// The simulator listens on loopback only; the other containers reach it on this container's own
// addresses, on the same port, so that the URLs it hands out keep their port.
const proxies: Server[] = [];
for (const address of Object.values(networkInterfaces()).flat()) {
  if (!address || address.internal || address.family !== "IPv4") continue;
  const proxy = createServer((socket) => {
    const upstream = connect(port, "127.0.0.1");
    socket.pipe(upstream).pipe(socket);
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  proxy.listen(port, address.address);
  proxies.push(proxy);
}

process.stdout.write(
  `${JSON.stringify({
    level: "info",
    message: "GitHub simulator ready",
    url: `http://github-simulator:${port}`,
    runnerUrl: `http://github-simulator:${port}/${organization}`,
    repository,
    webhook: webhookUrl ?? "none",
    runnerEmulation: kubeconfig ? "on" : "off (no KUBECONFIG)",
  })}\n`,
);

const stop = async () => {
  for (const proxy of proxies) proxy.close();
  await simulator.stop();
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
