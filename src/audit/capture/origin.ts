import type { IncomingMessage } from "node:http";
import { boundedText } from "./redact.js";

/** Which API a request came through. */
export type Transport = "graphql" | "graphql-ws" | "rest" | "agent-ws";

/** Where a request came from, as the audit log records it. */
export interface RequestOrigin {
  via: Transport;
  ip: string | null;
  userAgent: string | null;
  /** X-Forwarded-For as sent, when it is not trusted as the address (it is the client's word). */
  forwardedFor?: string;
}

/**
 * The client's address: the socket's peer, or, behind a proxy the operator trusts
 * (BROKKR__BROKER__AUDIT_TRUST_FORWARDED_FOR), the first X-Forwarded-For entry. Brokkr records
 * X-Forwarded-For always, so any client could write any address into its log.
 */
export function originOf(req: IncomingMessage, via: Transport, trustForwardedFor: boolean): RequestOrigin {
  const header = req.headers["x-forwarded-for"];
  const forwarded = (Array.isArray(header) ? header.join(",") : header)?.trim();
  const first = forwarded?.split(",")[0]?.trim();
  const peer = req.socket?.remoteAddress?.replace(/^::ffff:/, "") ?? null;
  const ua = req.headers["user-agent"];
  const origin: RequestOrigin = {
    via,
    ip: boundedText(trustForwardedFor && first ? first : (peer ?? ""), 64) || null,
    userAgent: ua ? boundedText(ua, 512) : null,
  };
  if (forwarded && !trustForwardedFor) origin.forwardedFor = boundedText(forwarded, 256);
  return origin;
}
