// The controller's own refusal of a Runner URL whose host is not allowed. The admission webhook
// skips kube-system and octorun-system, so there a Runner can name any host: the controller must
// send nothing there (not the App JWT, not the token) and say why in a condition.
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { createGitHubClient } from "@octorun/github";
import { waitFor } from "@octorun/testkit";
import type { RunnerObject } from "../src/types.ts";
import { Runners, runnerManifest, startController, startWorld, type World } from "./env.ts";

const NS = "octorun-system";

describe("the GitHub host allow-list in the controller", { timeout: 150_000 }, () => {
  let world: World;
  let ctl: ReturnType<typeof startController>;
  let foreign: Server;
  let foreignUrl: string;
  const received: { method?: string; url?: string; headers: IncomingHttpHeaders }[] = [];
  const client = () => ctl.controller.client;
  const get = (name: string) => client().find<RunnerObject>(Runners, NS, name);

  before(async () => {
    world = await startWorld({ namespaces: [NS] });
    // A server that is not an allowed GitHub host: it records whatever reaches it.
    foreign = createServer((request, response) => {
      received.push({ method: request.method, url: request.url, headers: request.headers });
      response.writeHead(404, { "content-type": "application/json" }).end('{"message":"Not Found"}');
    });
    await new Promise<void>((resolve) => foreign.listen(0, "127.0.0.1", resolve));
    const address = foreign.address();
    foreignUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    // No API base override: each Runner's requests go to the host its spec.url names, as in a
    // cluster with github.com and GHES Runners. The simulator is the one allowed GHES host.
    ctl = startController(world, {
      namespaces: [NS],
      github: createGitHubClient({
        auth: { type: "token", token: world.token },
        enterpriseHosts: [new URL(world.sim.url).host],
        rateLimit: { serverErrorRetries: 0, maxWaitMs: 1_000 },
      }),
    });
    await ctl.start();
  });
  after(async () => {
    await ctl?.stop();
    await world?.stop();
    foreign?.close();
  });

  test("a Runner of a host not allowed gets a URLNotAllowed condition, and no request leaves for that host", async () => {
    // spec.id is set as a user could where no webhook runs: deletion must not reach the host either.
    await client().create(Runners, runnerManifest(NS, "foreign", `${foreignUrl}/acme`, { id: 42 }));
    await client().create(Runners, runnerManifest(NS, "allowed", world.orgUrl));

    const refused = await waitFor("foreign Failed", async () => {
      const r = await get("foreign");
      return r?.status?.phase === "Failed" ? r : undefined;
    });
    const failed = refused.status?.conditions?.find((c) => c.type === "runner.octorun.github.io/Failed");
    assert.equal(failed?.reason, "URLNotAllowed");
    assert.match(failed?.message ?? "", /host "127\.0\.0\.1:\d+" is neither github\.com nor a configured/);
    const registered = refused.status?.conditions?.find((c) => c.type === "runner.octorun.github.io/Registered");
    assert.equal(registered?.status, "False");
    assert.equal(registered?.reason, "URLNotAllowed");
    // The allowed host is served by the same controller and client.
    await waitFor("allowed Idle", async () => (await get("allowed"))?.status?.phase === "Idle");

    await client().delete(Runners, NS, "foreign");
    await waitFor("foreign gone", async () => (await get("foreign")) === undefined);
    assert.deepEqual(
      received.map((r) => `${r.method} ${r.url} ${r.headers.authorization ? "with credentials" : ""}`),
      [],
      "nothing was sent to the host that is not allowed",
    );
    assert.equal(await client().find(Runners, NS, "foreign"), undefined);
  });
});
