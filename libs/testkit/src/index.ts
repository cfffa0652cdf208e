export {
  BenchCollector,
  type Benchmark,
  type BenchReport,
  defineBenchmark,
  describeTrials,
  type Figure,
  meetsGoal,
  type TrialRatio,
  trialRatio,
} from "./bench.ts";
export { type Binaries, binaries, type Component, cacheDir, ensureBinaries, pinnedVersions } from "./binaries.ts";
export { type ControlPlane, type ControlPlaneOptions, type KubectlResult, startControlPlane } from "./control-plane.ts";
export {
  CRDS_DIR,
  type CrdConversion,
  type CrdManifest,
  type CrdSchemas,
  crdManifests,
  fileCrdSchemas,
  type InstallCrdsOptions,
  installCrds,
  servedCrdSchemas,
} from "./crds.ts";
export * from "./github-simulator/index.ts";
export { imageNodeFlags } from "./image-node-flags.ts";
export { type BuiltImage, ensureImages, IMAGE_NAMES, type ImageName, imageRef } from "./images.ts";
export { makeReusingApiClient } from "./kube-api.ts";
export { type LoadRequest, type LoadResult, type LoadTarget, maxThroughput, offerLoad, quantile } from "./load.ts";
export {
  type NatsCluster,
  type NatsServer,
  type NatsServerOptions,
  type NatsUser,
  startNatsCluster,
  startNatsServer,
} from "./nats-server.ts";
export { type NetnsForward, netnsUnavailable, startNetnsForward } from "./netns.ts";
export { createFrontProxyPki, createPki, type FrontProxyPki, type KeyPair, type Pki } from "./pki.ts";
export { freePort, listenHttps } from "./ports.ts";
export { ProcessGroup } from "./processes.ts";
export { REAL_NODE_LABEL, type RealNode, realNodeSupport } from "./real-node.ts";
export { waitFor } from "./wait.ts";
export {
  outdatedWebhookExamples,
  type SignedWebhook,
  signedWebhook,
  signWebhookBody,
  validateWebhookPayload,
  type WebhookDelivery,
  type WebhookExample,
  type WebhookValidation,
  webhookExamples,
} from "./webhooks.ts";
