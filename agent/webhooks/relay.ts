import type { Logger } from "pino";
import { type BrokerHttp, brokerRequest } from "../broker/http.ts";
import { httpRequest } from "../broker/http-request.ts";

/** How often the agent asks for webhook deliveries routed to it (Brokkr's agent: every 10 s). */
export const WEBHOOK_POLL_MS = 10_000;
const RESPONSE_READ_CAP_BYTES = 4096;

/** The broker's PendingWebhookDelivery, with the signature headers it computed (it keeps the secret). */
interface PendingDelivery {
  id: string;
  payload: string;
  url: string;
  auth_header?: string | null;
  headers?: Record<string, string>;
  timeout_seconds: number;
}

interface Result {
  success: boolean;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** One bounded POST, as the broker makes it: timeout for the whole exchange, no redirects, capped read. */
async function post(d: PendingDelivery): Promise<Result> {
  const started = performance.now();
  // The broker's headers carry Content-Type already; a second spelling would be sent as a second value.
  const headers: Record<string, string> = d.headers ? { ...d.headers } : { "Content-Type": "application/json" };
  if (d.auth_header) headers.authorization = d.auth_header;
  try {
    // node:http follows no redirect: a 3xx is the receiver's answer, as the broker treats it.
    const res = await httpRequest(d.url, {
      method: "POST",
      body: d.payload,
      headers,
      signal: AbortSignal.timeout(d.timeout_seconds * 1000),
    });
    await res.discard(RESPONSE_READ_CAP_BYTES);
    const ok = res.status >= 200 && res.status < 300;
    return { success: ok, status_code: res.status, error: ok ? null : `HTTP ${res.status}`, duration_ms: elapsed(started) };
  } catch (err) {
    const timedOut = (err as { name?: string })?.name === "TimeoutError";
    return {
      success: false,
      status_code: null,
      error: timedOut ? "timed out" : "connection failed",
      duration_ms: elapsed(started),
    };
  }
}

const elapsed = (started: number) => Math.round(performance.now() - started);

/**
 * Delivers the webhooks the broker routes to this agent (subscriptions whose target labels it
 * carries, for receivers inside its network): claim, POST each with the broker's headers, report.
 * Returns how many it delivered. URLs and auth headers are never logged.
 */
export async function relayWebhooks(http: BrokerHttp, agentId: string, logger: Logger): Promise<number> {
  const pending =
    (await brokerRequest<PendingDelivery[]>(http, `/api/v1/agents/${encodeURIComponent(agentId)}/webhooks/pending`)) ?? [];
  await Promise.all(
    pending.map(async (d) => {
      const result = await post(d);
      if (!result.success) logger.info({ deliveryId: d.id, status: result.status_code }, "webhook delivery failed");
      await brokerRequest(http, `/api/v1/webhook-deliveries/${encodeURIComponent(d.id)}/result`, {
        method: "POST",
        body: JSON.stringify(result),
      });
    }),
  );
  return pending.length;
}
