import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { captureCli } from "../../../test/cli.js";
import { ok, startTestBroker, type TestBroker } from "../../../test/broker.js";
import { promotablePair } from "../../../test/promotions.js";

let broker: TestBroker;
let promotionId: string;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "brokkr-evidence-"));

const cli = captureCli;

beforeAll(async () => {
  broker = await startTestBroker();
  vi.stubEnv("BROKKR_CLI_CONFIG", path.join(dir, "cli.json"));
  vi.stubEnv("BROKKR_URL", broker.url);
  vi.stubEnv("BROKKR_PAK", broker.adminPak);
  const { environmentId, releaseId } = await promotablePair(broker);
  promotionId = ok(
    await broker.gql<{ requestPromotion: { promotion: { id: string } } }>(
      `mutation($i: RequestPromotionInput!) { requestPromotion(input: $i) { promotion { id } } }`,
      { i: { releaseId, environmentId } },
    ),
  ).requestPromotion.promotion.id;
});

describe("brokkr evidence", () => {
  it("exports a promotion's evidence that verifies offline, and names a tampered packet", async () => {
    const file = path.join(dir, "export.json");
    const exported = await cli("evidence", "export", promotionId, "--out", file);
    expect(exported).toMatchObject({ code: 0, stderr: "" });
    const verified = await cli("evidence", "verify", file);
    expect(verified).toMatchObject({ code: 0, stdout: "2 packet(s) verified\n" });
    const data = JSON.parse(fs.readFileSync(file, "utf8"));
    data.packets[1].content.gates[0].passed = false;
    const tampered = path.join(dir, "tampered.json");
    fs.writeFileSync(tampered, JSON.stringify(data));
    const refused = await cli("evidence", "verify", tampered);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(
      `TAMPERED packet ${data.packets[1].id} (PROMOTION_APPROVED): content does not match contentHash`,
    );
    expect(refused.stderr).toBe("brokkr: 1 tampered packet(s)\n");
  });

  it("verifies against trusted keys: a re-signed export under another key fails", async () => {
    const file = path.join(dir, "export2.json");
    await cli("evidence", "export", promotionId, "--out", file);
    const keys = path.join(dir, "keys.json");
    const data = JSON.parse(fs.readFileSync(file, "utf8"));
    fs.writeFileSync(keys, JSON.stringify([{ id: "0000000000000000", publicKeyPem: data.publicKeys[0].publicKeyPem }]));
    const refused = await cli("evidence", "verify", file, "--keys", keys);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("unknown signing key");
  });
});
