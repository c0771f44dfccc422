import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { agentWorld, type AgentWorld } from "../../../test/agent-world.js";
import { ok } from "../../../test/broker.js";
import { captureCli } from "../../../test/cli.js";
import { createAgent } from "../../../test/factories.js";
import { createTemplate } from "../../../test/templates.js";
import { createUser } from "../../../test/users.js";

const TEMPLATE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-{{ environment.name }}
data:
  image: "{{ components.web.image }}"
`;
const DIGEST = `sha256:${"ab".repeat(32)}`;

let world: AgentWorld;
let people: Record<"alice" | "bob", { id: string; pak: string }>;
let templateId: string;

/** The CLI in this process, as the given person (BROKKR_URL/BROKKR_PAK, as CI would set them). */
async function cli(pak: string, ...args: string[]) {
  vi.stubEnv("BROKKR_URL", world.broker.url);
  vi.stubEnv("BROKKR_PAK", pak);
  const { code, stdout, stderr } = await captureCli("--json", ...args);
  return { code, stderr, json: () => JSON.parse(stdout) };
}

async function environment(name: string, orderIndex: number, requiredApprovals: number) {
  ok(
    await world.broker.gql(`mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { environment { id } } }`, {
      i: { name, orderIndex, requiredApprovals, agentSelector: { labels: [`cli-${name}`] } },
    }),
  );
}

beforeAll(async () => {
  world = await agentWorld();
  vi.stubEnv("BROKKR_CLI_CONFIG", path.join(fs.mkdtempSync(path.join(os.tmpdir(), "brokkr-cli-")), "cli.json"));
  people = { alice: await createUser(world.broker, "ADMIN"), bob: await createUser(world.broker, "APPROVER") };
  templateId = (await createTemplate(world.broker, world.broker.adminPak, { templateContent: TEMPLATE, parametersSchema: "{}" }))
    .id;
  for (const [name, order, approvals] of [
    ["dev", 0, 0],
    ["staging", 1, 1],
    ["prod", 2, 1],
  ] as const) {
    await environment(name, order, approvals);
    const agent = await createAgent(world.broker, { activate: true, labels: [`cli-${name}`], name: `cli-${name}-1` });
    await world.launch(agent.pak);
  }
});

describe("brokkr release commands", () => {
  it("registers a component version once, and names a bad digest's field", async () => {
    expect((await cli(world.broker.adminPak, "component", "create", "web", "--image", "registry.example.com/web")).code).toBe(0);
    const first = await cli(
      world.broker.adminPak,
      "component",
      "version",
      "web",
      "--tag",
      "1.0.0",
      "--digest",
      DIGEST,
      "--semver",
      "1.0.0",
    );
    expect(first.json()).toMatchObject({ result: "created", digest: DIGEST });
    const again = await cli(
      world.broker.adminPak,
      "component",
      "version",
      "web",
      "--tag",
      "1.0.0",
      "--digest",
      DIGEST,
      "--semver",
      "1.0.0",
    );
    expect(again.json()).toMatchObject({ result: "unchanged" });
    const bad = await cli(
      world.broker.adminPak,
      "component",
      "version",
      "web",
      "--tag",
      "1.0.1",
      "--digest",
      "sha256:nope",
      "--semver",
      "1.0.1",
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/BAD_USER_INPUT/);
  });

  it("walks a release from dev to staging, refusing a draft, self-approval, and ending on a rejection", async () => {
    const draft = await cli(
      world.broker.adminPak,
      "release",
      "create",
      "cli-draft",
      "--template",
      templateId,
      "--component",
      "web=1.0.0",
    );
    expect(draft.json()).toMatchObject({ status: "DRAFT" });
    const refused = await cli(people.alice.pak, "promote", "cli-draft", "dev");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/PRECONDITION_FAILED.*RELEASE_READY/);

    const made = await cli(
      world.broker.adminPak,
      "release",
      "create",
      "cli-r1",
      "--template",
      templateId,
      "--component",
      `web=${DIGEST}`,
      "--ready",
    );
    expect(made.json()).toMatchObject({ status: "READY", components: [{ image: `registry.example.com/web@${DIGEST}` }] });

    const dev = (await cli(people.alice.pak, "promote", "cli-r1", "dev")).json();
    const devDone = await cli(people.alice.pak, "promotion", "wait", dev.id, "--timeout", "60");
    expect(devDone.code).toBe(0);
    expect(devDone.json()).toMatchObject({
      status: "DEPLOYED",
      job: { tasks: [{ status: "SUCCEEDED", agent: { name: "cli-dev-1" } }] },
    });

    const staging = (await cli(people.alice.pak, "promote", "cli-r1", "staging")).json();
    expect(staging.status).toBe("PENDING_APPROVAL");
    const own = await cli(people.alice.pak, "approve", staging.id);
    expect(own.code).toBe(1);
    expect(own.stderr).toMatch(/FORBIDDEN/);
    expect((await cli(people.bob.pak, "approve", staging.id, "--comment", "ok")).code).toBe(0);
    expect((await cli(people.alice.pak, "promotion", "wait", staging.id, "--timeout", "60")).code).toBe(0);

    const envs = (await cli(people.bob.pak, "environments")).json();
    expect(envs.find((e: { name: string }) => e.name === "staging").currentRelease).toMatchObject({ name: "cli-r1" });

    const prod = (await cli(people.alice.pak, "promote", "cli-r1", "prod")).json();
    expect((await cli(people.bob.pak, "reject", prod.id, "--comment", "not this week")).code).toBe(0);
    const ended = await cli(people.alice.pak, "promotion", "wait", prod.id, "--timeout", "10");
    expect(ended.code).toBe(3);
    expect(ended.stderr).toMatch(/ended REJECTED/);
    expect(ended.json().approvals).toMatchObject([{ action: "REJECTED", comment: "not this week" }]);
  }, 120_000);
});
