import type { ServerResponse } from "node:http";
import { StatusError } from "./status.ts";
import type { KubeObject } from "./store.ts";

export interface LogLine {
  /** When the kubelet stamped the line (defaults to the time it was appended). */
  ts?: Date;
  text: string;
}

interface Stored {
  ts: Date;
  text: string;
}

/**
 * Canned container logs, as a kubelet would keep them: lines appended by the test
 * (`kube.appendPodLog`), served by `GET …/pods/{name}/log` with the query parameters a log
 * reader uses: `container` (required when the pod has several), `timestamps` (RFC 3339 with
 * nanoseconds, then a space), `sinceSeconds`, `tailLines` and `limitBytes` (applied in that
 * order, as the kubelet does). No `follow`, no `previous` (400), no rotation.
 */
export class PodLogs {
  private readonly lines = new Map<string, Stored[]>();

  append(namespace: string, pod: string, container: string, lines: LogLine[]): void {
    const key = `${namespace}/${pod}/${container}`;
    const list = this.lines.get(key) ?? [];
    this.lines.set(key, list);
    for (const l of lines) list.push({ ts: l.ts ?? new Date(), text: l.text });
  }

  /** Replaces a container's log with `text`, one line per newline (`kube.setPodLog`). */
  set(namespace: string, pod: string, container: string, text: string): void {
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    this.lines.set(`${namespace}/${pod}/${container}`, []);
    this.append(
      namespace,
      pod,
      container,
      lines.map((l) => ({ text: l })),
    );
  }

  /** The body of a log read of `pod` (which exists) with the request's query. */
  read(pod: KubeObject, query: URLSearchParams, now = new Date()): string {
    const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
    const name = pod.metadata.name;
    const container = query.get("container") ?? (containers.length === 1 ? containers[0] : undefined);
    if (!container)
      throw new StatusError(400, `a container name must be specified for pod ${name}, choose one of: [${containers.join(" ")}]`);
    if (!containers.includes(container)) throw new StatusError(400, `container ${container} is not valid for pod ${name}`);
    if (query.get("follow") === "true" || query.get("previous") === "true")
      throw new StatusError(400, "the fake serves neither follow nor previous logs");
    let lines = this.lines.get(`${pod.metadata.namespace}/${name}/${container}`) ?? [];
    const since = query.get("sinceSeconds");
    if (since) lines = lines.filter((l) => l.ts.getTime() >= now.getTime() - Number(since) * 1000);
    const tail = query.get("tailLines");
    if (tail) lines = lines.slice(Math.max(0, lines.length - Number(tail)));
    const stamp = query.get("timestamps") === "true";
    let body = lines.map((l) => `${stamp ? `${nanos(l.ts)} ` : ""}${l.text}\n`).join("");
    const limit = query.get("limitBytes");
    if (limit) body = Buffer.from(body).subarray(0, Number(limit)).toString();
    return body;
  }
}

/** RFC 3339 with nanoseconds, as the kubelet writes it (2026-01-01T00:00:00.123000000Z). */
function nanos(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}

export function sendText(res: ServerResponse, text: string): void {
  res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
