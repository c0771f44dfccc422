import { createPublicKey, verify } from "node:crypto";
import { canonicalJson, sha256Hex } from "./canonical.js";
import { signingKeyId } from "./keys.js";

/** A packet as exported (GraphQL field names); offline verification needs nothing else. */
export interface ExportedPacket {
  id: string;
  promotionId: string;
  jobId?: string | null;
  packetType: string;
  content: unknown;
  contentHash: string;
  signature: string;
  signerKeyId: string;
}

export interface PublicKeyEntry {
  id: string;
  publicKeyPem: string;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

/**
 * Whether a packet is what its signer signed: the named key is known and is the key its id
 * says (SHA-256 of the SPKI), the re-canonicalised content hashes to contentHash, the signature
 * verifies over those bytes, and the content names the packet's own type, promotion and job.
 */
export function verifyPacket(packet: ExportedPacket, publicKeys: readonly PublicKeyEntry[]): Verdict {
  const entry = publicKeys.find((k) => k.id === packet.signerKeyId);
  if (!entry) return { ok: false, reason: `unknown signing key ${packet.signerKeyId}` };
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey({ key: entry.publicKeyPem, format: "pem" });
  } catch {
    return { ok: false, reason: `signing key ${entry.id} is not a public key` };
  }
  if (key.asymmetricKeyType !== "ed25519" || signingKeyId(key) !== entry.id)
    return { ok: false, reason: `signing key ${entry.id} does not match its id` };
  let canonical: string;
  try {
    canonical = canonicalJson(packet.content);
  } catch {
    return { ok: false, reason: "content is not JSON" };
  }
  if (sha256Hex(canonical) !== packet.contentHash) return { ok: false, reason: "content does not match contentHash" };
  const signature = Buffer.from(String(packet.signature), "base64");
  if (!verify(null, Buffer.from(canonical, "utf8"), key, signature)) return { ok: false, reason: "signature does not verify" };
  return bindingVerdict(packet);
}

function bindingVerdict(packet: ExportedPacket): Verdict {
  const content = packet.content as Record<string, unknown> | null;
  if (typeof content !== "object" || content === null) return { ok: false, reason: "content is not an object" };
  if (content.packetType !== packet.packetType) return { ok: false, reason: "packetType differs from the signed one" };
  if (content.promotionId !== packet.promotionId) return { ok: false, reason: "promotionId differs from the signed one" };
  if ((content.jobId ?? null) !== (packet.jobId ?? null)) return { ok: false, reason: "jobId differs from the signed one" };
  return { ok: true };
}

/** What `evidence:verify` reads: a promotion's export, or any list of packets with the keys. */
export interface EvidenceExport {
  format?: string;
  promotion?: { id: string } & Record<string, unknown>;
  packets: ExportedPacket[];
  publicKeys: PublicKeyEntry[];
}

export const EXPORT_FORMAT = "brokkr.evidence-export/v1";

export interface ExportReport {
  checked: number;
  failures: { packetId: string; packetType: string; reason: string }[];
}

/** Verifies every packet of an export (and, with a promotion, that each packet is that promotion's). */
export function verifyExport(data: EvidenceExport, trustedKeys?: readonly PublicKeyEntry[]): ExportReport {
  if (!data || !Array.isArray(data.packets) || (!trustedKeys && !Array.isArray(data.publicKeys)))
    throw new Error("not an evidence export: expected packets and publicKeys");
  const keys = trustedKeys ?? data.publicKeys;
  const failures: ExportReport["failures"] = [];
  for (const packet of data.packets) {
    let verdict = verifyPacket(packet, keys);
    if (verdict.ok && data.promotion && packet.promotionId !== data.promotion.id)
      verdict = { ok: false, reason: `belongs to promotion ${packet.promotionId}, not ${data.promotion.id}` };
    if (!verdict.ok)
      failures.push({ packetId: String(packet.id), packetType: String(packet.packetType), reason: verdict.reason });
  }
  return { checked: data.packets.length, failures };
}
