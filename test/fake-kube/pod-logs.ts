import type { ServerResponse } from "node:http";
import { StatusError } from "./status.ts";
import type { KubeObject } from "./store.ts";

/**
 * The pod log subresource (`GET /api/v1/namespaces/{ns}/pods/{pod}/log`) as a canned text store:
 * tests set each container's log with `setPodLog`; nothing runs, so nothing else writes one.
 * Models the query parameters `container`, `tailLines` and `limitBytes` as the real server
 * applies them (tail first, then the byte cap, which may cut a line), and its refusals: a pod
 * with several containers needs `container`, and a container the pod does not have is a 400.
 */
export class PodLogs {
  private readonly texts = new Map<string, string>();

  set(namespace: string, pod: string, container: string, text: string): void {
    this.texts.set(`${namespace}/${pod}/${container}`, text);
  }

  read(pod: KubeObject, query: URLSearchParams): string {
    const { namespace, name } = pod.metadata;
    const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
    const container = query.get("container") ?? (containers.length === 1 ? containers[0] : undefined);
    if (container === undefined)
      throw new StatusError(400, `a container name must be specified for pod ${name}, choose one of: [${containers.join(" ")}]`);
    if (!containers.includes(container)) throw new StatusError(400, `container ${container} is not valid for pod ${name}`);
    let text = this.texts.get(`${namespace}/${name}/${container}`) ?? "";
    const tail = query.get("tailLines");
    if (tail !== null) {
      const lines = text.split("\n");
      if (lines.at(-1) === "") lines.pop();
      text = lines
        .slice(Math.max(0, lines.length - Number(tail)))
        .map((l) => `${l}\n`)
        .join("");
    }
    const limit = query.get("limitBytes");
    if (limit !== null) text = Buffer.from(text).subarray(0, Number(limit)).toString("utf8");
    return text;
  }
}

export function sendText(res: ServerResponse, text: string): void {
  res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
