import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { BrokkrError, fromDatabaseError, RETRY_AFTER_SECONDS } from "../errors.js";

/** Brokkr's consumer-websocket subprotocol (reference §2.6), echoed to clients that offer it. */
export const BROKKR_SUBPROTOCOL = "brokkr.v1";
const PAK_PROTOCOL = "brokkr.pak.";

/**
 * The key of a websocket upgrade: the Authorization header, else the `brokkr.pak.<PAK>`
 * subprotocol Brokkr's console sends (browsers cannot set headers on a websocket).
 */
export function upgradeKey(req: IncomingMessage): string | undefined {
  if (req.headers.authorization) return req.headers.authorization;
  const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  return offered.find((p) => p.startsWith(PAK_PROTOCOL))?.slice(PAK_PROTOCOL.length);
}

/** Picks Brokkr's subprotocol when offered (ws's handleProtocols). */
export const pickBrokkrSubprotocol = (offered: Set<string>) => (offered.has(BROKKR_SUBPROTOCOL) ? BROKKR_SUBPROTOCOL : false);

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** An HTTP answer on the raw socket of a refused upgrade, bodyless as Brokkr's auth refusals. */
export function refuseUpgrade(socket: Duplex, status: number): void {
  if (!socket.writable) return void socket.destroy();
  const retry = status === 503 ? `Retry-After: ${RETRY_AFTER_SECONDS}\r\n` : "";
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\n${retry}Content-Length: 0\r\n\r\n`, () =>
    socket.destroy(),
  );
}

/**
 * A refused upgrade whose key lookup or authorization failed: 503 (with Retry-After) when the
 * database is unavailable, which clients retry; anything else is reported and answered 500.
 */
export function refuseUpgradeForFault(socket: Duplex, err: unknown, report: (err: unknown) => void): void {
  const coded = fromDatabaseError(err);
  if (coded instanceof BrokkrError && coded.code === "SERVICE_UNAVAILABLE") return refuseUpgrade(socket, 503);
  report(err);
  refuseUpgrade(socket, 500);
}
