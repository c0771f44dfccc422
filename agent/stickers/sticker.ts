import { createHash } from "node:crypto";
import type { StickerReleaseContextFragment } from "../generated/operations.ts";
import type { Manifest } from "../kube/manifest.ts";

export type ReleaseContext = StickerReleaseContextFragment;

/** What a sticker says: the release, promotion and environment, the digests, and what was applied. */
export interface StickerContent {
  release: string;
  releaseId: string;
  promotion: string;
  environment: string;
  digests: ReleaseContext["digests"];
  /** The applied deployment object's checksum. */
  appliedChecksum: string;
}

export type StickerConfigMap = Manifest & { data: Record<string, string> };

export const STICKER_LABEL = "brokkr.io/version-sticker";

/**
 * JSON with object keys sorted and no whitespace: RFC 8785 (JCS) for the values a sticker holds
 * (strings, booleans, null, arrays, objects and integers, which JSON.stringify writes as JCS does).
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function stickerContent(context: ReleaseContext, appliedChecksum: string): StickerContent {
  return {
    release: context.releaseName,
    releaseId: context.releaseId,
    promotion: context.promotionId,
    environment: context.environmentName,
    digests: context.digests.map(({ component, image, tag, digest, semver }) => ({ component, image, tag, digest, semver })),
    appliedChecksum,
  };
}

/** SHA-256 (hex) of the canonical content: anyone holding the ConfigMap can recompute it. */
export function contentHash(content: StickerContent): string {
  return createHash("sha256").update(canonicalJson(content)).digest("hex");
}

export const stickerName = (environmentName: string) => `brokkr-sticker-${environmentName}`;

/** The sticker ConfigMap: one per environment in the context's sticker namespace. */
export function stickerConfigMap(context: ReleaseContext, content: StickerContent): StickerConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: stickerName(context.environmentName),
      namespace: context.stickerNamespace,
      labels: { [STICKER_LABEL]: "true", "app.kubernetes.io/managed-by": "brokkr-agent" },
    },
    data: {
      release: content.release,
      releaseId: content.releaseId,
      promotion: content.promotion,
      environment: content.environment,
      digests: JSON.stringify(content.digests),
      contentHash: contentHash(content),
      appliedChecksum: content.appliedChecksum,
    },
  };
}
