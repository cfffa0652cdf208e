// One watch request: the apiserver's stream of JSON lines (`{"type":…,"object":…}`), read with
// undici's `request` on client-node's authentication and dispatcher. The contract is
// client-node's Watch (callback per event, done once, an AbortController to end it), without
// fetch's web streams and readline, which cost more CPU than the JSON parsing.

import { STATUS_CODES } from "node:http";
import { StringDecoder } from "node:string_decoder";
import type { KubeConfig } from "@kubernetes/client-node";
import { type Dispatcher, request } from "undici";
import { HttpMethod, RequestContext } from "./client-node.ts";

export type WatchCallback = (phase: string, object: unknown) => void;
/** Called once: without an error when the server ended the stream, else with it (`statusCode` for an HTTP error, `TimeoutError` for inactivity). */
export type WatchDone = (error: unknown) => void;

export interface WatchRequest {
  kubeConfig: KubeConfig;
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  /** No byte for this long ends the watch with a TimeoutError (the server sends bookmarks). */
  inactivityTimeoutMs?: number;
}

/** Opens the watch; resolves with the controller that ends it once the request is sent. */
export async function openWatch(
  options: WatchRequest,
  onEvent: WatchCallback,
  done: WatchDone,
): Promise<AbortController> {
  const cluster = options.kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const url = new URL(cluster.server + options.path);
  url.searchParams.set("watch", "true");
  for (const [key, value] of Object.entries(options.query))
    if (value !== undefined) url.searchParams.set(key, String(value));
  const ctx = new RequestContext(url.toString(), HttpMethod.GET);
  await options.kubeConfig.applySecurityAuthentication(ctx);

  const controller = new AbortController();
  const timeoutMs = options.inactivityTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  let finished = false;
  const finish = (error: unknown) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    controller.abort();
    done(error && timedOut ? timeoutError() : error);
  };
  const resetTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(timeoutError());
    }, timeoutMs).unref();
  };

  resetTimer();
  const dispatcher = ctx.getDispatcher() as Dispatcher | undefined;
  request(url, {
    method: "GET",
    headers: ctx.getHeaders(),
    signal: controller.signal,
    ...(dispatcher ? { dispatcher } : {}),
  }).then(
    (response) => {
      if (response.statusCode !== 200) {
        response.body.resume();
        const error = new Error(STATUS_CODES[response.statusCode] ?? "watch failed") as Error & { statusCode: number };
        error.statusCode = response.statusCode;
        return finish(error);
      }
      resetTimer();
      const decoder = new StringDecoder("utf8");
      let partial = "";
      response.body.on("data", (chunk: Buffer) => {
        resetTimer();
        const text = partial + decoder.write(chunk);
        let start = 0;
        for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n", start)) {
          const line = text.slice(start, end);
          start = end + 1;
          if (line.length === 0 || finished) continue;
          let event: { type: string; object: unknown };
          try {
            event = JSON.parse(line);
          } catch {
            continue; // not a watch event: as client-node, skip it
          }
          try {
            onEvent(event.type, event.object);
          } catch (error) {
            // A handler's failure ends this watch with it, to be logged and retried, not lost.
            return finish(error);
          }
        }
        partial = text.slice(start);
      });
      response.body.on("error", finish);
      response.body.on("end", () => finish(null));
      response.body.on("close", () => finish(null));
    },
    (error: unknown) => finish(error),
  );
  return controller;
}

function timeoutError(): DOMException {
  return new DOMException("the watch sent nothing for too long", "TimeoutError");
}
