import http from "node:http";
import type { AddressInfo } from "node:net";
import { buildSchema } from "graphql";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { serveGraphQLWs } from "./ws-server.js";

const schema = buildSchema("type Query { ok: Boolean }");
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function serve(keepAlive: { intervalMs: number; socketsPerTurn?: number }, connectionInitWaitTimeout?: number) {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, path: "/graphql" });
  const ws = serveGraphQLWs({ schema, connectionInitWaitTimeout }, wss, keepAlive);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stops.push(async () => {
    await ws.dispose();
    await new Promise((resolve) => server.close(resolve));
  });
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

async function connect(url: string, options: { autoPong?: boolean } = {}) {
  const socket = new WebSocket(url, "graphql-transport-ws", options);
  const pings = { count: 0 };
  socket.on("ping", () => pings.count++);
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  stops.push(async () => socket.terminate());
  return { socket, pings };
}

describe("websocket keep-alive", () => {
  it("ends a socket that leaves its ping unanswered and keeps one that answers", async () => {
    const url = await serve({ intervalMs: 300 });
    const answering = await connect(url);
    const silent = await connect(url, { autoPong: false });
    const closed = new Promise<number>((resolve) => silent.socket.once("close", resolve));
    expect(await closed).toBe(1006); // terminated, no close frame
    expect(silent.pings.count).toBeGreaterThan(0);
    // The answering socket was pinged in the same rounds and is still open, pinged round after round.
    await vi.waitFor(() => expect(answering.pings.count).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
  });

  it("pings its sockets a turn's worth at a time, yielding the event loop between turns", async () => {
    // Pings sent in one synchronous run of the server share a batch number.
    const batches: number[] = [];
    let batch = 0;
    let inRun = false;
    const ping = vi.spyOn(WebSocket.prototype, "ping").mockImplementation(function (this: WebSocket) {
      if (!inRun) [batch, inRun] = [batch + 1, true];
      queueMicrotask(() => (inRun = false));
      batches.push(batch);
    });
    stops.push(async () => ping.mockRestore());
    const url = await serve({ intervalMs: 1000, socketsPerTurn: 10 });
    await Promise.all(Array.from({ length: 40 }, () => connect(url)));
    await vi.waitFor(() => expect(batches.length).toBeGreaterThanOrEqual(40), { timeout: 10_000 });
    const perBatch = new Map<number, number>();
    for (const b of batches) perBatch.set(b, (perBatch.get(b) ?? 0) + 1);
    expect(Math.max(...perBatch.values())).toBeLessThanOrEqual(10);
  });

  it("lets a round slower than the interval finish before the next starts: each socket once per round", async () => {
    // Each ping holds the loop 5 ms, so a round of 10 sockets, one per turn, outlasts the 20 ms interval.
    const order: WebSocket[] = [];
    let recording = false;
    const realPing = WebSocket.prototype.ping;
    const ping = vi.spyOn(WebSocket.prototype, "ping").mockImplementation(function (this: WebSocket, ...args) {
      if (recording) order.push(this);
      for (const until = performance.now() + 5; performance.now() < until; );
      return realPing.apply(this, args);
    });
    stops.push(async () => ping.mockRestore());
    const url = await serve({ intervalMs: 20, socketsPerTurn: 1 });
    await Promise.all(Array.from({ length: 10 }, () => connect(url)));
    recording = true;
    await vi.waitFor(() => expect(order.length).toBeGreaterThanOrEqual(40), { timeout: 10_000 });
    // Rounds go through the sockets in the same order, one round after another: between two pings
    // of one socket every other socket is pinged once. Overlapping rounds would ping it sooner.
    const gaps = new Set<number>();
    const last = new Map<WebSocket, number>();
    order.forEach((socket, i) => {
      const previous = last.get(socket);
      if (previous !== undefined) gaps.add(i - previous);
      last.set(socket, i);
    });
    expect([...gaps]).toEqual([10]);
  });

  it("sweeps for a missing connection_init only while a socket awaits one", async () => {
    const started = vi.spyOn(globalThis, "setInterval");
    const cleared = vi.spyOn(globalThis, "clearInterval");
    stops.push(async () => {
      started.mockRestore();
      cleared.mockRestore();
    });
    // The init sweep runs every tenth of the 200 ms timeout, at least every 50 ms.
    const sweeps = () => started.mock.results.filter((_, i) => started.mock.calls[i]?.[1] === 50).map((r) => r.value);
    const url = await serve({ intervalMs: 60_000 }, 200);
    const closedWith = (socket: WebSocket) => new Promise<number>((resolve) => socket.once("close", resolve));
    const first = await connect(url);
    expect(await closedWith(first.socket)).toBe(4408);
    // A socket that sends its init is not swept; with nobody waiting the sweep stops.
    const greeted = await connect(url);
    const acked = new Promise((resolve) => greeted.socket.once("message", resolve));
    greeted.socket.send(JSON.stringify({ type: "connection_init" }));
    expect(JSON.parse(String(await acked))).toMatchObject({ type: "connection_ack" });
    await vi.waitFor(() => expect(cleared).toHaveBeenCalledWith(sweeps().at(-1)));
    const stopped = sweeps().length;
    // The next socket that waits starts it again.
    const late = await connect(url);
    expect(await closedWith(late.socket)).toBe(4408);
    expect(sweeps()).toHaveLength(stopped + 1);
    expect(greeted.socket.readyState).toBe(WebSocket.OPEN);
  });
});
