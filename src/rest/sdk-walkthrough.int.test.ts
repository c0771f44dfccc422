import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, unique } from "../../test/factories.js";
import { specClient } from "../../test/openapi/spec.js";

/*
 * A generator's walk-through as Brokkr's SDKs make it (reference §4.12 item 120, §4.3 item 36),
 * over REST only, with keys in Brokkr's shape (`brokkr_BR<6>_<long>`), sent raw as the SDKs do.
 */
const BROKKR_KEY = /^brokkr_BR[1-9A-HJ-NP-Za-km-z]{6}_[1-9A-HJ-NP-Za-km-z]{24,}$/;

let broker: TestBroker;
const exercised = new Set<string>();
beforeAll(async () => {
  broker = await startTestBroker();
});

describe("a generator SDK walk-through", () => {
  it("creates generator, agent, stack, label, annotation, object, registration, target; lists own stacks; refuses another generator's target", async () => {
    const admin = specClient(broker.url, exercised, broker.adminPak);
    const madeGen = await admin.POST("/generators", { body: { name: unique("sdk") } });
    const rival = await admin.POST("/generators", { body: { name: unique("rival") } });
    const madeAgent = await admin.POST("/agents", { body: { name: unique("edge"), cluster_name: "prod" } });
    const [genPak, rivalPak, agentPak] = [madeGen.data?.pak ?? "", rival.data?.pak ?? "", madeAgent.data?.initial_pak ?? ""];
    for (const pak of [genPak, rivalPak, agentPak]) expect(pak).toMatch(BROKKR_KEY);
    const agentId = madeAgent.data?.agent.id ?? "";
    await admin.PUT("/agents/{id}", { params: { path: { id: agentId } }, body: { status: "ACTIVE" } });

    const gen = specClient(broker.url, exercised, genPak);
    const stack = await gen.POST("/stacks", { body: { name: unique("web"), generator_id: madeGen.data?.generator.id ?? "" } });
    const stackId = stack.data?.id ?? "";
    expect((await gen.POST("/stacks/{id}/labels", { params: { path: { id: stackId } }, body: "prod" })).response.status).toBe(
      201,
    );
    const note = await gen.POST("/stacks/{id}/annotations", {
      params: { path: { id: stackId } },
      body: { stack_id: stackId, key: "team", value: "web" },
    });
    expect(note.response.status).toBe(201);
    const object = await gen.POST("/stacks/{id}/deployment-objects", {
      params: { path: { id: stackId } },
      body: { yaml_content: CONFIGMAP_YAML("sdk") },
    });
    expect(object.response.status).toBe(201);

    const agent = specClient(broker.url, exercised, agentPak);
    const registration = await agent.POST("/generators/{id}/register", {
      params: { path: { id: madeGen.data?.generator.id ?? "" } },
      body: {},
    });
    expect(registration.response.status).toBe(201);
    const target = await gen.POST("/agents/{id}/targets", {
      params: { path: { id: agentId } },
      body: { agent_id: agentId, stack_id: stackId },
    });
    expect(target.response.status).toBe(201);

    expect((await gen.GET("/stacks")).data?.map((s) => s.id)).toEqual([stackId]);
    expect((await specClient(broker.url, exercised, rivalPak).GET("/stacks")).data).toEqual([]);
    const state = await agent.GET("/agents/{id}/target-state", { params: { path: { id: agentId } } });
    expect(state.data?.map((o) => o.id)).toEqual([object.data?.id]);

    // The rival's agent consent does not make our stack its to target.
    await agent.POST("/generators/{id}/register", { params: { path: { id: rival.data?.generator.id ?? "" } }, body: {} });
    const refused = await specClient(broker.url, exercised, rivalPak).POST("/agents/{id}/targets", {
      params: { path: { id: agentId } },
      body: { agent_id: agentId, stack_id: stackId },
    });
    expect(refused.response.status).toBe(403);
    expect(refused.error).toMatchObject({ code: "target_generator_mismatch" });
  });

  it("lets an INACTIVE agent find itself and register at start-up, as Brokkr's agent does, yet receive nothing", async () => {
    const admin = specClient(broker.url, exercised, broker.adminPak);
    const gen = await admin.POST("/generators", { body: { name: unique("boot") } });
    const name = unique("boot-agent");
    const made = await admin.POST("/agents", { body: { name, cluster_name: "k3s" } });
    const agent = specClient(broker.url, exercised, made.data?.initial_pak ?? "");
    const found = await agent.GET("/agents/", { params: { query: { name, cluster_name: "k3s" } } });
    expect(found.data).toMatchObject({ id: made.data?.agent.id, status: "INACTIVE" });
    const registered = await agent.POST("/generators/{id}/register", {
      params: { path: { id: gen.data?.generator.id ?? "" } },
      body: {},
    });
    expect(registered.response.status).toBe(201);
    const again = await agent.POST("/generators/{id}/register", {
      params: { path: { id: gen.data?.generator.id ?? "" } },
      body: {},
    });
    expect(again.response.status).toBe(409);
    expect(
      (await agent.POST("/agents/{id}/heartbeat", { params: { path: { id: found.data?.id ?? "" } }, body: {} })).response.status,
    ).toBe(403);
    expect((await agent.GET("/agents/{id}/target-state", { params: { path: { id: found.data?.id ?? "" } } })).data).toEqual([]);
  });
});
