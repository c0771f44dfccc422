import { vi } from "vitest";
import WebSocket from "ws";
import { type PushFrame, pushFrame } from "../src/brokkr-ws/wire.js";
import type { TestBroker } from "./broker.js";

/**
 * Plays Brokkr's Rust agent on /internal/ws/agent, frame by frame: its PAK in the upgrade's
 * Authorization header, `{type, body}` JSON text frames both ways.
 */
export interface BrokkrAgentSocket {
  ws: WebSocket;
  /** Every push received, parsed with the wire schema (a frame that does not parse fails the test). */
  frames: PushFrame[];
  closed: Promise<{ code: number; reason: string }>;
  send(type: string, body: Record<string, unknown>): void;
  until(predicate: (frames: PushFrame[]) => boolean): Promise<void>;
  close(): Promise<void>;
}

export const agentWsUrl = (broker: TestBroker) => `${broker.url.replace(/^http/, "ws")}/internal/ws/agent`;

/** Connects; resolves once open, or rejects with the HTTP status the upgrade was refused with. */
export function connectBrokkrAgent(broker: TestBroker, authorization: string | null): Promise<BrokkrAgentSocket> {
  const ws = new WebSocket(agentWsUrl(broker), { headers: authorization === null ? {} : { authorization } });
  const frames: PushFrame[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on("message", (data) => frames.push(pushFrame.parse(JSON.parse(data.toString()))));
  return new Promise((resolve, reject) => {
    ws.once("unexpected-response", (_req, res) => {
      reject(Object.assign(new Error(`upgrade refused with ${res.statusCode}`), { status: res.statusCode }));
      ws.terminate();
    });
    ws.once("error", reject);
    ws.once("open", () =>
      resolve({
        ws,
        frames,
        closed,
        send: (type, body) => ws.send(JSON.stringify({ type, body })),
        until: (predicate) =>
          vi.waitFor(
            () => {
              if (!predicate(frames)) throw new Error(`received ${JSON.stringify(frames)}`);
            },
            { timeout: 15_000 },
          ),
        close: async () => {
          ws.close();
          await closed;
        },
      }),
    );
  });
}

/** The HTTP status an upgrade is refused with (fails when it is accepted). */
export async function refusedWith(broker: TestBroker, authorization: string | null): Promise<number> {
  try {
    const socket = await connectBrokkrAgent(broker, authorization);
    await socket.close();
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
  throw new Error("the upgrade was accepted");
}

/** A counter's value in the broker's /metrics (0 when absent). */
export async function metricValue(broker: TestBroker, series: string): Promise<number> {
  const text = await (await fetch(`${broker.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
