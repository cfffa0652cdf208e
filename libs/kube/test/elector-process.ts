// A separate process that campaigns for a Lease, so a test can kill it without any release.
// argv: kubeconfigPath namespace leaseName identity leaseDurationMs renewDeadlineMs retryPeriodMs
import { KubeClient } from "../src/client.ts";
import { loadKubeConfig } from "../src/kubeconfig.ts";
import { LeaderElector } from "../src/leader-election.ts";

const [path, namespace, name, identity, lease, renew, retry] = process.argv.slice(2);
const client = new KubeClient(loadKubeConfig({ path }), { fieldManager: "elector-test" });
const elector = new LeaderElector({
  client,
  namespace: namespace!,
  name: name!,
  identity: identity!,
  leaseDurationMs: Number(lease),
  renewDeadlineMs: Number(renew),
  retryPeriodMs: Number(retry),
  onStartedLeading: () => {
    process.stdout.write("leading\n");
  },
  onStoppedLeading: () => {
    process.stdout.write("stopped\n");
  },
});
elector.start();
process.on("SIGTERM", () => {
  void elector.stop().then(() => process.exit(0));
});
