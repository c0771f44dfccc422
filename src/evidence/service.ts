import type { Db } from "../db/client.js";
import { canonicalJson, sha256Hex } from "./canonical.js";
import type { EvidenceSigner } from "./keys.js";
import { type EvidencePacketRow, insertPacket, type PacketType } from "./store.js";

export interface EvidenceInput {
  promotionId: string;
  jobId?: string | null;
  packetType: PacketType;
  content: Record<string, unknown>;
}

/** Fields recordEvidence adds to every content, so a packet cannot be passed off as another's. */
const BINDING = ["packetType", "promotionId", "jobId"] as const;

/**
 * Canonicalises the content (RFC 8785) with the packet's own identity in it (type, promotion,
 * job), hashes and signs the canonical bytes, and inserts the packet in the caller's
 * transaction: the packet exists exactly when the decision it records was committed.
 */
export async function recordEvidence(tx: Db, signer: EvidenceSigner, input: EvidenceInput): Promise<EvidencePacketRow> {
  const jobId = input.jobId ?? null;
  for (const key of BINDING) {
    if (key in input.content) throw new Error(`evidence content may not set ${key}: recordEvidence sets it`);
  }
  const canonical = canonicalJson({ ...input.content, packetType: input.packetType, promotionId: input.promotionId, jobId });
  return insertPacket(tx, {
    promotionId: input.promotionId,
    jobId,
    packetType: input.packetType,
    canonical,
    contentHash: sha256Hex(canonical),
    signature: signer.sign(canonical),
    signerKeyId: signer.keyId,
  });
}
