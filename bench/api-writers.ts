// Child process of bench/api.ts: the createDeploymentObject clients. They run outside the
// broker's process, as real generators do, so the broker's event loop is not also the load
// generator's (in one process the clients took about a fifth of its CPU). Each worker holds one
// keep-alive connection and sends its next mutation once the previous one answered.
import http from "node:http";
import { yaml2k } from "./payloads.js";

interface Start {
  url: string;
  pak: string;
  stackIds: string[];
  concurrency: number;
  seconds: number;
}

const MUTATION = `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`;

const send = process.send?.bind(process);
if (!send) throw new Error("bench/api-writers.ts runs as a forked child of bench/api.ts");

function post(agent: http.Agent, url: URL, pak: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${pak}`,
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const answer = JSON.parse(Buffer.concat(chunks).toString()) as { data?: unknown; errors?: unknown };
          if (answer.errors || !answer.data) reject(new Error(JSON.stringify(answer.errors ?? "no data")));
          else resolve();
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

process.once("message", async (msg: Start) => {
  const url = new URL(`${msg.url}/graphql`);
  let done = 0;
  const deadline = Date.now() + msg.seconds * 1000;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: msg.concurrency }, async (_, w) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; Date.now() < deadline; i++) {
        const variables = { s: msg.stackIds[(w * 7 + i) % msg.stackIds.length], y: yaml2k(w * 100000 + i) };
        await post(agent, url, msg.pak, JSON.stringify({ query: MUTATION, variables }));
        done++;
      }
      agent.destroy();
    }),
  );
  const used = process.cpuUsage(cpu);
  send({ rate: done / ((performance.now() - started) / 1000), done, cpuMs: (used.user + used.system) / 1000 });
});
send({ type: "loaded" });
