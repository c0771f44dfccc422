// Child process of bench/delivery.ts: holds N agentDeployments subscriptions and records, per
// object id, when each agent received it (Date.now(), same machine clock as the parent).
import { createClient } from "graphql-ws";
import WebSocket from "ws";

interface Start {
  url: string;
  paks: string[];
}

// Sockets torn down at the end may reject their close; that is not a finding.
process.on("unhandledRejection", () => {});

const send = process.send?.bind(process);
if (!send) throw new Error("bench/delivery-clients.ts runs as a forked child of bench/delivery.ts");

send({ type: "loaded" });
process.once("message", (msg: Start) => {
  const receipts: [string, number][] = [];
  // Sockets opened and closed: more opens than clients means the server dropped some and they retried.
  const sockets = { opened: 0, closed: 0 };
  const clients = msg.paks.map((pak) => {
    const client = createClient({
      url: `${msg.url.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${pak}` },
      on: {
        opened: () => sockets.opened++,
        closed: () => sockets.closed++,
      },
      retryAttempts: 50,
      retryWait: async (n) => new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** Math.min(n, 5)) * Math.random())),
    });
    client.subscribe<{ agentDeployments: { deploymentObject: { id: string } | null } }>(
      // The shipped agent's selection (agent/broker/operations.graphql): a 2 KB object goes out whole.
      {
        query:
          'subscription { agentDeployments(after: "0") { type stackId deploymentObject { id sequenceId yamlContent yamlChecksum isDeletionMarker } } }',
      },
      {
        next: (r) => {
          const id = r.data?.agentDeployments.deploymentObject?.id;
          if (id) receipts.push([id, Date.now()]);
        },
        error: () => {},
        complete: () => {},
      },
    );
    return client;
  });
  process.on("message", async (m: { type: string }) => {
    if (m.type === "report") send({ type: "receipts", receipts: receipts.splice(0), sockets });
    if (m.type === "stop") {
      await Promise.allSettled(clients.map((c) => c.dispose()));
      process.exit(0);
    }
  });
  send({ type: "started" });
});
