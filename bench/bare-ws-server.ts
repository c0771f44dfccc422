// Child process of bench/delivery.ts: the limit the broker's fan-out is measured against. A bare
// `ws` server speaking just enough graphql-transport-ws to hold subscriptions (ack, subscribe)
// and push one pre-serialised payload to each with its subscription id spliced in. No auth, no
// database, no GraphQL execution: what any server on this machine pays at least.
import http from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { fullGc } from "./gc.js";
import { cpuWithMainThread } from "./thread-cpu.js";
import { phaseProfiler } from "./profiler.js";
import { LISTEN_BACKLOG } from "../src/run-flags.js";

type Command =
  | { type: "publish"; payload: string }
  | { type: "onSubscribe"; payload: string | null }
  | { type: "count" }
  | { type: "rss" }
  | { type: "cpu" }
  | { type: "profile"; file: string | null }
  | { type: "stop" };

const send = process.send?.bind(process);
if (!send) throw new Error("bench/bare-ws-server.ts runs as a forked child of bench/delivery.ts");

const subscriptions = new Map<WebSocket, string>();
// Reconnect storm: each new subscription is sent this payload at once (its "missed" object).
let onSubscribePayload: string | null = null;
const frame = (id: string, payload: string) => `{"id":${JSON.stringify(id)},"type":"next","payload":${payload}}`;

const server = http.createServer();
const wss = new WebSocketServer({ server, path: "/graphql", handleProtocols: () => "graphql-transport-ws" });
wss.on("connection", (socket) => {
  socket.on("error", () => {});
  socket.on("close", () => subscriptions.delete(socket));
  socket.on("message", (data) => {
    const msg = JSON.parse(String(data)) as { type: string; id?: string };
    if (msg.type === "connection_init") socket.send('{"type":"connection_ack"}');
    else if (msg.type === "ping") socket.send('{"type":"pong"}');
    else if (msg.type === "subscribe" && msg.id) {
      subscriptions.set(socket, msg.id);
      if (onSubscribePayload) socket.send(frame(msg.id, onSubscribePayload));
    }
  });
});

const profile = phaseProfiler();

process.on("message", async (cmd: Command) => {
  if (cmd.type === "publish") {
    const t0 = Date.now();
    for (const [socket, id] of subscriptions) socket.send(frame(id, cmd.payload));
    send({ t0 });
  } else if (cmd.type === "onSubscribe") {
    onSubscribePayload = cmd.payload;
    send({ ok: true });
  } else if (cmd.type === "count") send({ count: subscriptions.size });
  else if (cmd.type === "cpu") send(cpuWithMainThread());
  else if (cmd.type === "profile") send(await profile(cmd.file));
  else if (cmd.type === "rss") {
    fullGc();
    send({ rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed });
  } else if (cmd.type === "stop") process.exit(0);
});

// Same backlog as the broker's listen (src/app.ts) so a storm meets the same accept queue.
server.listen({ port: 0, host: "127.0.0.1", backlog: LISTEN_BACKLOG }, () => {
  const address = server.address();
  send({ port: typeof address === "object" && address ? address.port : 0 });
});
