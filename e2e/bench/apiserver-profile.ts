// With OCTORUN_APISERVER_PROFILING=1 and OCTORUN_BENCH_PROFILE_DIR set, a benchmark can keep a
// CPU profile of the test apiserver for one of its phases (`go tool pprof -top <file>`): says
// which part of the apiserver's work a figure is made of.
import { writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import type { ControlPlane } from "@octorun/testkit";

/** Starts a `seconds`-long profile named `name`; resolves once it is written (at once when profiling is off). */
export async function profileApiserver(cp: ControlPlane, name: string, seconds: number): Promise<void> {
  const dir = process.env.OCTORUN_BENCH_PROFILE_DIR;
  if (!dir || process.env.OCTORUN_APISERVER_PROFILING !== "1") return;
  const url = new URL(`/debug/pprof/profile?seconds=${seconds}`, cp.kubeConfig.getCurrentCluster()?.server);
  const options: Parameters<typeof request>[1] = { method: "GET" };
  await cp.kubeConfig.applyToHTTPSOptions(options);
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        res.statusCode === 200
          ? resolve(Buffer.concat(chunks))
          : reject(new Error(`apiserver profile: HTTP ${res.statusCode}`)),
      );
    });
    req.on("error", reject);
    req.end();
  });
  writeFileSync(join(dir, `${name}.pprof`), body);
}
