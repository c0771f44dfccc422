import type { Db } from "../db/client.js";

/** An evidence packet as the API shows it (columns aliased to the GraphQL field names). */
export interface EvidencePacketRow {
  id: string;
  promotionId: string;
  jobId: string | null;
  packetType: PacketType;
  content: Record<string, unknown>;
  contentHash: string;
  signature: string;
  signerKeyId: string;
  createdAt: Date;
}

export type PacketType =
  | "PROMOTION_REQUESTED"
  | "APPROVAL"
  | "REJECTION"
  | "PROMOTION_APPROVED"
  | "JOB_COMPLETED"
  | "ROLLBACK_COMPLETED";

export interface SigningKeyRow {
  id: string;
  publicKeyPem: string;
  privateKeySealed: string | null;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface PacketWrite {
  promotionId: string;
  jobId: string | null;
  packetType: PacketType;
  canonical: string;
  contentHash: string;
  signature: string;
  signerKeyId: string;
}

export async function insertPacket(db: Db, p: PacketWrite): Promise<EvidencePacketRow> {
  const rows = await db.$queryRaw<EvidencePacketRow[]>`
    INSERT INTO evidence_packets (promotion_id, job_id, packet_type, content, content_hash, signature, signer_key_id)
    VALUES (${p.promotionId}::uuid, ${p.jobId}::uuid, ${p.packetType}, ${p.canonical}::jsonb, ${p.contentHash},
            ${p.signature}, ${p.signerKeyId})
    RETURNING id, promotion_id AS "promotionId", job_id AS "jobId", packet_type AS "packetType", content,
              content_hash AS "contentHash", signature, signer_key_id AS "signerKeyId", created_at AS "createdAt"`;
  const row = rows[0];
  if (!row) throw new Error("evidence packet insert returned no row");
  return row;
}

/** The packets of each promotion, oldest first. */
export function packetsOfPromotions(db: Db, promotionIds: readonly string[]): Promise<EvidencePacketRow[]> {
  return db.$queryRaw<EvidencePacketRow[]>`
    SELECT id, promotion_id AS "promotionId", job_id AS "jobId", packet_type AS "packetType", content,
           content_hash AS "contentHash", signature, signer_key_id AS "signerKeyId", created_at AS "createdAt"
    FROM evidence_packets WHERE promotion_id = ANY(${promotionIds as string[]}::uuid[])
    ORDER BY created_at, id`;
}

/** Inserts a key unless its id, or (for a generated key) another live generated key, exists. */
export async function insertSigningKeyIfAbsent(
  db: Db,
  key: { id: string; publicKeyPem: string; privateKeySealed: string | null },
): Promise<void> {
  await db.$executeRaw`
    INSERT INTO evidence_signing_keys (id, public_key_pem, private_key_sealed)
    VALUES (${key.id}, ${key.publicKeyPem}, ${key.privateKeySealed})
    ON CONFLICT DO NOTHING`;
}

export async function liveGeneratedKey(db: Db): Promise<SigningKeyRow | undefined> {
  const rows = await db.$queryRaw<SigningKeyRow[]>`
    SELECT id, public_key_pem AS "publicKeyPem", private_key_sealed AS "privateKeySealed",
           created_at AS "createdAt", retired_at AS "retiredAt"
    FROM evidence_signing_keys WHERE private_key_sealed IS NOT NULL AND retired_at IS NULL`;
  return rows[0];
}

/** Every key, `currentId` first, then live ones, newest first (few rows: keys are rotated rarely). */
export function listSigningKeys(db: Db, currentId: string | null): Promise<SigningKeyRow[]> {
  return db.$queryRaw<SigningKeyRow[]>`
    SELECT id, public_key_pem AS "publicKeyPem", NULL AS "privateKeySealed",
           created_at AS "createdAt", retired_at AS "retiredAt"
    FROM evidence_signing_keys
    ORDER BY (id = ${currentId}) DESC NULLS LAST, (retired_at IS NULL) DESC, created_at DESC, id
    LIMIT 1000`;
}
