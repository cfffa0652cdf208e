// client-node's generated API clients open a new TLS connection for every request (each request
// gets its own dispatcher from the kubeconfig). Under load that is a TLS handshake per call on both
// sides, which skews benchmarks; these clients keep the first dispatcher and reuse its connections.
import {
  type Configuration,
  createConfiguration,
  type KubeConfig,
  type RequestContext,
  ServerConfiguration,
} from "@kubernetes/client-node";

type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;

/** `kubeConfig.makeApiClient(Api)`, with one connection pool for all its requests. */
export function makeReusingApiClient<T>(kubeConfig: KubeConfig, Api: new (configuration: Configuration) => T): T {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  let shared: Dispatcher | undefined;
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [
      {
        pre: async (ctx) => {
          if (shared) ctx.setDispatcher(shared);
          else shared = ctx.getDispatcher();
          return ctx;
        },
        post: async (response) => response,
      },
    ],
  });
  return new Api(configuration);
}
