import { MessageType, stringifyMessage } from "graphql-ws";
import { describe, expect, it } from "vitest";
import { SharedResult } from "../delivery/shared-subscribe.js";
import { sharedPayloadReplacer, splicePayload } from "./ws-server.js";

const frame = (id: string, payload: unknown) =>
  splicePayload(
    stringifyMessage({ id, type: MessageType.Next, payload } as Parameters<typeof stringifyMessage>[0], sharedPayloadReplacer),
  );

describe("splicing a shared payload into each subscriber's frame", () => {
  it("writes each subscriber's own id around the one serialised result", () => {
    const shared = new SharedResult({ data: { agentDeployments: { type: "DEPLOY", yaml: 'a: "\\u0000"' } } });
    for (const id of ["1", 'quote"id', "ü-3"]) {
      expect(JSON.parse(frame(id, shared))).toEqual({ id, type: "next", payload: { data: shared.data } });
    }
  });

  it("leaves frames without a shared payload as graphql-ws wrote them", () => {
    const plain = stringifyMessage({ id: "7", type: MessageType.Next, payload: { data: { x: 1 } } }, sharedPayloadReplacer);
    expect(splicePayload(plain)).toBe(plain);
    expect(frame("8", { data: { x: 2 } })).toBe('{"id":"8","type":"next","payload":{"data":{"x":2}}}');
  });

  it("never spreads its cached JSON into a payload built from it", () => {
    const shared = new SharedResult({ data: { a: 1 } });
    void shared.json;
    expect(Object.keys({ ...shared })).toEqual(["data", "errors"]);
  });
});
