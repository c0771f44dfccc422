import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalJson, contentHash, stickerConfigMap, stickerContent } from "./sticker.ts";

const context = {
  taskId: "t1",
  releaseId: "r1",
  releaseName: "shop-1.2.3",
  promotionId: "p1",
  environmentId: "e1",
  environmentName: "prod",
  digests: [{ component: "web", image: "reg/web@sha256:aa", tag: "1.2.3", digest: "sha256:aa", semver: "1.2.3" }],
  stickerNamespace: "brokkr-system",
  driftPolicy: "REPORT" as const,
};

describe("the version sticker", () => {
  it("writes canonical JSON: keys sorted at every depth, no whitespace", () => {
    expect(canonicalJson({ b: [{ z: 1, a: "x" }], a: null, c: true })).toBe('{"a":null,"b":[{"a":"x","z":1}],"c":true}');
  });

  it("hashes the canonical content, which the ConfigMap's data lets anyone recompute", () => {
    const content = stickerContent(context, "c".repeat(64));
    const cm = stickerConfigMap(context, content);
    expect(cm.metadata).toMatchObject({ name: "brokkr-sticker-prod", namespace: "brokkr-system" });
    const { contentHash: hash, digests, ...rest } = cm.data;
    expect(hash).toBe(contentHash(content));
    const recomputed = createHash("sha256")
      .update(canonicalJson({ ...rest, digests: JSON.parse(digests ?? "[]") }))
      .digest("hex");
    expect(recomputed).toBe(hash);
    expect(rest).toEqual({
      release: "shop-1.2.3",
      releaseId: "r1",
      promotion: "p1",
      environment: "prod",
      appliedChecksum: "c".repeat(64),
    });
  });
});
