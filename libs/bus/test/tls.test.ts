import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createPki, ensureBinaries, freePort, type Pki, ProcessGroup, waitFor } from "@octorun/testkit";
import {
  BusConnection,
  BusUnavailableError,
  busConnectionOptions,
  ensureJobStream,
  jobPublisherPermissions,
  jobStreamManagerPermissions,
  mergePermissions,
  publishJobEvent,
} from "../src/index.ts";
import { sampleEvent } from "./fixtures.ts";

// A nats-server that requires TLS with client certificates and maps each certificate to a user
// (as deploy/nats does it): the service's identity is its certificate, not a password.
describe("NATS over mutual TLS", () => {
  let pki: Pki;
  let group: ProcessGroup;
  let url: string;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "octorun-bus-tls-"));
    pki = createPki(join(dir, "pki"));
    const [port, monitorPort] = [await freePort(), await freePort()];
    const config = {
      host: "127.0.0.1",
      port,
      http: `127.0.0.1:${monitorPort}`,
      jetstream: { store_dir: join(dir, "js"), max_memory_store: 64 << 20, max_file_store: 256 << 20 },
      tls: {
        cert_file: pki.webhook.certFile,
        key_file: pki.webhook.keyFile,
        ca_file: pki.ca.certFile,
        verify_and_map: true,
      },
      authorization: {
        users: [
          {
            user: "CN=admin,O=system:masters",
            permissions: mergePermissions(
              jobPublisherPermissions({ service: "tls-test" }),
              jobStreamManagerPermissions(),
            ),
          },
        ],
      },
    };
    writeFileSync(join(dir, "nats.conf"), JSON.stringify(config));
    group = new ProcessGroup(dir);
    group.start("nats-server", ensureBinaries(["nats-server"]).natsServer, ["-c", join(dir, "nats.conf")]);
    await waitFor(
      "nats-server with TLS",
      async () =>
        (await fetch(`http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`).catch(() => undefined))?.ok ===
        true,
      { timeoutMs: 30_000 },
    );
    url = `tls://127.0.0.1:${port}`;
  });
  after(() => group?.stop());

  test("a service connects with its client certificate from the configuration and publishes as the mapped user", async () => {
    const bus = new BusConnection(
      busConnectionOptions(
        {
          NATS_URL: [url],
          NATS_TLS_CA_FILE: pki.ca.certFile,
          NATS_TLS_CERT_FILE: pki.admin.certFile,
          NATS_TLS_KEY_FILE: pki.admin.keyFile,
        },
        "tls-test",
      ),
    );
    try {
      await bus.ready(15_000);
      assert.equal(await ensureJobStream(await bus.jetstreamManager()), "created");
      const stored = await publishJobEvent(bus.jetstream(), sampleEvent());
      assert.equal(stored.subject, "octorun.jobs.assigned");
    } finally {
      await bus.close();
    }
  });

  test("without a client certificate the connection is refused and never ready", async () => {
    const bus = new BusConnection({
      servers: [url],
      name: "no-cert",
      tls: { caFile: pki.ca.certFile },
      reconnectWaitMs: 200,
    });
    try {
      await assert.rejects(bus.ready(2_000), BusUnavailableError);
      assert.equal(bus.connected(), false);
    } finally {
      await bus.close();
    }
  });
});
