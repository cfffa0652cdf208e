// The Node flags a service's image runs it with (the `CMD ["node", "--…", …]` of its Dockerfile),
// so that tests, benchmarks and the sandbox start each service as its Pod would.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Flags before the composition root in `services/<service>/Dockerfile`'s CMD. */
export function imageNodeFlags(root: string, service: string): string[] {
  const dockerfile = readFileSync(join(root, "services", service, "Dockerfile"), "utf8");
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  if (!cmd) throw new Error(`services/${service}/Dockerfile has no CMD [...] line`);
  return (JSON.parse(cmd) as string[]).filter((arg) => arg.startsWith("--"));
}
