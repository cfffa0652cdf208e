// The parts of @kubernetes/client-node octorun uses at run time, imported from their own modules.
// The package's index loads every generated API and model: about 40 MB of resident memory in each
// service before any work. With the patch in patches/ (config.js takes createConfiguration and
// ServerConfiguration from their modules instead of the generated index), none of it is loaded.
// Types may still come from the package itself: `import type` is erased.
export { KubeConfig } from "@kubernetes/client-node/dist/config.js";
export { HttpMethod, RequestContext } from "@kubernetes/client-node/dist/gen/http/http.js";
export { ServerConfiguration } from "@kubernetes/client-node/dist/gen/servers.js";
export { Watch } from "@kubernetes/client-node/dist/watch.js";
