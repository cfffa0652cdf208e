// The App webhook's delivery log over REST, as GitHub serves it: `GET /app/hook/deliveries`
// (newest first, cursor pagination with a `Link` header, `?status=success|failure`) and
// `POST /app/hook/deliveries/{delivery_id}/attempts` (202; the redelivery happens afterwards,
// with the same `X-GitHub-Delivery`). Both take the App's JWT; an App sees only deliveries of
// events on its own installations.
import { type HandlerContext, HttpError, type OperationSpec, type SimResponse } from "./handlers.ts";
import type { JobDispatcher, WebhookDelivery } from "./jobs.ts";

const DOCS = "https://docs.github.com/rest/apps/webhooks";
const CURSOR = /^v1_(\d+)$/;

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** `hook-delivery-item` for one attempt. */
export function deliveryItem(delivery: WebhookDelivery): Record<string, unknown> {
  return {
    id: delivery.id,
    guid: delivery.deliveryId,
    delivered_at: iso(delivery.deliveredAt),
    redelivery: delivery.redelivery,
    duration: Math.round(delivery.durationMs) / 1000,
    status: delivery.statusText,
    status_code: delivery.status,
    event: delivery.event,
    action: delivery.action,
    installation_id: delivery.installationId,
    repository_id: delivery.repositoryId,
    throttled_at: null,
  };
}

function appOf(ctx: HandlerContext): number {
  if (ctx.principal.kind !== "app") throw new HttpError(401, "A JSON web token could not be decoded");
  return ctx.principal.appId;
}

/** The attempts of events on this App's installations, newest first. */
function appDeliveries(ctx: HandlerContext, all: readonly WebhookDelivery[]): WebhookDelivery[] {
  const appId = appOf(ctx);
  return all
    .filter((d) => d.installationId !== null && ctx.state.installations.get(d.installationId)?.appId === appId)
    .sort((a, b) => b.id - a.id);
}

/** `status` filter by `status_code` range, as GitHub documents it (a failed connection, code 0, is in neither). */
function statusMatches(filter: string | null, code: number): boolean {
  if (filter === "success") return code >= 200 && code <= 399;
  if (filter === "failure") return code >= 400 && code <= 599;
  return true;
}

export function listWebhookDeliveries(ctx: HandlerContext, all: readonly WebhookDelivery[]): SimResponse {
  const perPage = Math.min(100, Math.max(1, Number(ctx.query.get("per_page") ?? 30)));
  const cursor = ctx.query.get("cursor");
  let startId = Number.POSITIVE_INFINITY;
  if (cursor !== null) {
    const match = CURSOR.exec(cursor);
    if (!match) throw new HttpError(400, `Invalid cursor "${cursor}"`, { documentationUrl: DOCS });
    startId = Number(match[1]);
  }
  const filter = ctx.query.get("status");
  const matching = appDeliveries(ctx, all).filter((d) => d.id <= startId && statusMatches(filter, d.status));
  const page = matching.slice(0, perPage);
  const next = matching[perPage];
  const headers: Record<string, string> = {};
  if (next) {
    const query = new URLSearchParams(ctx.query);
    query.set("per_page", String(perPage));
    query.set("cursor", `v1_${next.id}`);
    headers.link = `<${ctx.apiUrl}${ctx.requestPath}?${query}>; rel="next"`;
  }
  return { status: 200, headers, body: page.map(deliveryItem) };
}

export function redeliverWebhookDelivery(
  ctx: HandlerContext,
  dispatcher: Pick<JobDispatcher, "deliveries" | "redeliver">,
): SimResponse {
  const id = Number(ctx.params.delivery_id);
  const delivery = appDeliveries(ctx, dispatcher.deliveries).find((d) => d.id === id);
  if (!Number.isInteger(id) || !delivery) throw new HttpError(404, "Not Found", { documentationUrl: DOCS });
  try {
    // Accepted now; the attempt is made (and recorded) afterwards, as on GitHub.
    void dispatcher.redeliver(id).catch(() => undefined);
  } catch (error) {
    throw new HttpError(400, `Cannot redeliver: ${(error as Error).message}`, { documentationUrl: DOCS });
  }
  return { status: 202, body: {} };
}

/** The two operations, bound to the simulator's delivery log. */
export function webhookDeliveryOperations(
  dispatcher: Pick<JobDispatcher, "deliveries" | "redeliver">,
): Record<string, OperationSpec> {
  return {
    "apps/list-webhook-deliveries": {
      auth: "jwt",
      handle: (ctx) => listWebhookDeliveries(ctx, dispatcher.deliveries),
    },
    "apps/redeliver-webhook-delivery": { auth: "jwt", handle: (ctx) => redeliverWebhookDelivery(ctx, dispatcher) },
  };
}
