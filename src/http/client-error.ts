import type { Socket } from "node:net";

/**
 * Requests Node refuses before any handler runs (headers too large, malformed HTTP) get a coded
 * JSON body like every other refusal, instead of Node's bare status line; nothing is logged per
 * request, the connection is closed.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return void socket.destroy();
  const [status, reason, code, message] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "Request Header Fields Too Large", "REQUEST_HEADERS_TOO_LARGE", "request headers exceed the server's limit"]
      : [400, "Bad Request", "BAD_REQUEST", "malformed HTTP request"];
  const body = JSON.stringify({ code, message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
