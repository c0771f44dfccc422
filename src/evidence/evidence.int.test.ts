import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { connectDatabase, inTransaction } from "../db/client.js";
import { createKeyring } from "../webhooks/keyring.js";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createTestDatabase } from "../../test/db.js";
import { createGenerator } from "../../test/factories.js";
import { insertEnvironment, insertPromotion, insertRelease } from "../../test/promotions.js";
import { recordEvidence } from "./service.js";
import { createEvidenceKeys } from "./signing.js";
import { EXPORT_FORMAT, verifyExport, verifyPacket } from "./verify.js";

const run = promisify(execFile);
const KEYS = "{ evidenceSigningKeys { id publicKeyPem createdAt retiredAt } }";

async function somePromotion(broker: TestBroker): Promise<string> {
  const { releaseId } = await insertRelease(broker.db.sql);
  const environmentId = await insertEnvironment(broker.db.sql, { orderIndex: Math.floor(Math.random() * 100_000) });
  return insertPromotion(broker.db.sql, { releaseId, environmentId });
}

async function record(broker: TestBroker, promotionId: string, content: Record<string, unknown> = { gates: [{ name: "X" }] }) {
  const signer = await broker.app.evidence.signer();
  return inTransaction(broker.app.database.prisma, (tx) =>
    recordEvidence(tx, signer, { promotionId, packetType: "PROMOTION_REQUESTED", content }),
  );
}

async function publicKeys(broker: TestBroker, pak = broker.adminPak) {
  return ok(await broker.gql<{ evidenceSigningKeys: { id: string; publicKeyPem: string }[] }>(KEYS, {}, pak)).evidenceSigningKeys;
}

describe("evidence packets with a generated key", () => {
  let broker: TestBroker;
  afterAll(() => broker?.stop());

  it("signs a packet whose signature verifies with the published key", async () => {
    broker = await startTestBroker();
    const promotionId = await somePromotion(broker);
    const packet = await record(broker, promotionId, { release: { digests: ["sha256:ab"] }, n: 1.5, é: "ü" });
    expect(packet.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(packet.content).toMatchObject({ packetType: "PROMOTION_REQUESTED", promotionId, jobId: null, n: 1.5 });
    const keys = await publicKeys(broker);
    expect(keys.map((k) => k.id)).toEqual([packet.signerKeyId]);
    expect(verifyPacket(packet, keys)).toEqual({ ok: true });
    // As stored (JSONB reorders keys): re-read and verify again.
    const { rows } = await broker.db.sql.query(`SELECT content, content_hash, signature, signer_key_id FROM evidence_packets`);
    const stored = { ...packet, content: rows[0].content, contentHash: rows[0].content_hash, signature: rows[0].signature };
    expect(verifyPacket(stored, keys)).toEqual({ ok: true });
  });

  it("detects a tampered content, hash, signature, key or binding", async () => {
    const packet = await record(broker, await somePromotion(broker));
    const keys = await publicKeys(broker);
    const other = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
    const cases: [string, object, unknown[], string][] = [
      ["content", { content: { ...packet.content, gates: [] } }, keys, "content does not match contentHash"],
      ["hash", { contentHash: "0".repeat(64) }, keys, "content does not match contentHash"],
      ["signature", { signature: Buffer.alloc(64, 1).toString("base64") }, keys, "signature does not verify"],
      ["type", { packetType: "APPROVAL" }, keys, "packetType differs from the signed one"],
      ["promotion", { promotionId: "00000000-0000-0000-0000-000000000000" }, keys, "promotionId differs"],
      ["key", {}, [{ id: packet.signerKeyId, publicKeyPem: other }], "does not match its id"],
      ["unknown key", {}, [], "unknown signing key"],
    ];
    for (const [, change, keyList, reason] of cases) {
      const verdict = verifyPacket({ ...packet, ...change }, keyList as never);
      expect(verdict.ok).toBe(false);
      expect(!verdict.ok && verdict.reason).toContain(reason);
    }
  });

  it("refuses update, delete and truncate of evidence packets (append-only trigger)", async () => {
    const packet = await record(broker, await somePromotion(broker));
    const refused = (q: string) =>
      expect(broker.db.sql.query(q, q.includes("$1") ? [packet.id] : [])).rejects.toThrow(/append-only/);
    await refused(`UPDATE evidence_packets SET signature = 'x' WHERE id = $1`);
    await refused(`DELETE FROM evidence_packets WHERE id = $1`);
    await refused(`TRUNCATE evidence_packets`);
    const { rows } = await broker.db.sql.query(`SELECT signature FROM evidence_packets WHERE id = $1`, [packet.id]);
    expect(rows[0].signature).toBe(packet.signature);
  });

  it("keeps the private key sealed, never in clear", async () => {
    const { rows } = await broker.db.sql.query(`SELECT id, private_key_sealed FROM evidence_signing_keys`);
    expect(rows).toHaveLength(1);
    const sealed: string = rows[0].private_key_sealed;
    expect(sealed).toMatch(/^v1:[0-9a-f]{8}:/);
    expect(sealed).not.toContain("PRIVATE KEY");
    expect(sealed).not.toContain("MC4CAQAwBQYDK2Vw"); // the base64 PKCS#8 prefix of every Ed25519 key
  });

  it("publishes the keys to any authenticated caller, and to nobody else", async () => {
    const generator = await createGenerator(broker);
    expect((await publicKeys(broker, generator.pak)).length).toBe(1);
    expect(errorCode(await broker.gql(KEYS, {}, null))).toBe("UNAUTHENTICATED");
  });

  it("reuses the generated key after a restart", async () => {
    const before = await record(broker, await somePromotion(broker));
    await broker.stop();
    broker = await startTestBroker({}, broker.db);
    const after = await record(broker, await somePromotion(broker));
    expect(after.signerKeyId).toBe(before.signerKeyId);
    const keys = await publicKeys(broker);
    expect(keys.map((k) => k.id)).toEqual([before.signerKeyId]);
    expect(verifyPacket(before, keys)).toEqual({ ok: true });
  });

  it("verifies an export offline with the command, and names a tampered packet", async () => {
    const promotionId = await somePromotion(broker);
    const first = await record(broker, promotionId, { step: 1 });
    const second = await record(broker, promotionId, { step: 2 });
    const data = {
      format: EXPORT_FORMAT,
      promotion: { id: promotionId },
      packets: [first, second],
      publicKeys: await publicKeys(broker),
    };
    expect(verifyExport(data).failures).toEqual([]);
    const dir = mkdtempSync(path.join(tmpdir(), "evidence-"));
    const good = path.join(dir, "good.json");
    const bad = path.join(dir, "bad.json");
    writeFileSync(good, JSON.stringify(data));
    writeFileSync(bad, JSON.stringify({ ...data, packets: [first, { ...second, content: { ...second.content, step: 3 } }] }));
    const cli = (file: string) => run("npx", ["tsx", "src/cli/evidence-verify.ts", file]);
    expect((await cli(good)).stdout).toContain("2 packet(s) verified");
    const failed = await cli(bad).then(
      () => expect.unreachable("a tampered export must fail"),
      (err: { code: number; stdout: string }) => err,
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`TAMPERED packet ${second.id} (PROMOTION_REQUESTED): content does not match contentHash`);
    expect(failed.stdout).not.toContain(first.id);
  });
});

describe("evidence signing keys", () => {
  it("signs with the configured key and hides it from the configuration query", async () => {
    const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const broker = await startTestBroker({ BROKKR__RELEASES__SIGNING_KEY: pem });
    const packet = await record(broker, await somePromotion(broker));
    const keys = await publicKeys(broker);
    expect(keys[0]?.id).toBe(packet.signerKeyId);
    expect(verifyPacket(packet, keys)).toEqual({ ok: true });
    const { rows } = await broker.db.sql.query(`SELECT private_key_sealed FROM evidence_signing_keys`);
    expect(rows).toEqual([{ private_key_sealed: null }]);
    const settings = ok(await broker.gql<{ configuration: { key: string; value: string }[] }>("{ configuration { key value } }"));
    expect(settings.configuration.find((s) => s.key === "releases.signingKey")?.value).toBe("(hidden)");
    expect(JSON.stringify(settings)).not.toContain("PRIVATE KEY");
    await broker.stop();
  });

  it("ends with one key when several brokers generate one at once", async () => {
    const db = await createTestDatabase();
    const handles = [0, 1, 2, 3].map(() => connectDatabase(db.url, 2));
    afterAll(() => Promise.all(handles.map((h) => h.close())));
    const signers = await Promise.all(
      handles.map((h) => createEvidenceKeys(h.prisma, undefined, createKeyring(h.prisma, undefined)).signer()),
    );
    expect(new Set(signers.map((s) => s.keyId)).size).toBe(1);
    const { rows } = await db.sql.query(`SELECT id FROM evidence_signing_keys`);
    expect(rows.map((r) => r.id)).toEqual([signers[0]?.keyId]);
  });
});
