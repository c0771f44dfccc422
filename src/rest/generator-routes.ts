import { z } from "zod";
import { deregisterAgentFrom, registerAgentWith, registrationsOfGenerator } from "../agents/registrations.js";
import * as generators from "../generators/service.js";
import { allPages, created, idParams, noContent, ok, route, uuid } from "./route.js";
import { generatorJson, registrationJson } from "./shapes.js";

const newGenerator = z.object({ name: z.string(), description: z.string().nullish() });
// Brokkr's PUT takes the whole Generator; only its name and description are the caller's to change.
const generatorUpdate = z.object({ name: z.string().optional(), description: z.string().nullish() });
const registrationBody = z.object({ agent_id: uuid.nullish() }).default({});

export const generatorRoutes = [
  route({
    op: "list_generators",
    roles: ["ADMIN"],
    handle: async ({ deps }) => ok((await allPages((page) => generators.listGenerators(deps.db, page))).map(generatorJson)),
  }),
  route({
    op: "list_paks",
    roles: ["ADMIN"],
    handle: async ({ deps }) =>
      ok((await allPages((page) => generators.listGenerators(deps.db, page))).map((g) => ({ id: g.id, name: g.name }))),
  }),
  route({
    op: "create_generator",
    roles: ["ADMIN"],
    body: newGenerator,
    handle: async ({ who, body, deps }) => {
      const { generator, pak } = await generators.createGenerator(deps.db, who, body);
      return created({ generator: generatorJson(generator), pak });
    },
  }),
  route({
    op: "get_generator",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    handle: async ({ who, params, deps }) => ok(generatorJson(await generators.getOwnGenerator(deps.db, who, params.id))),
  }),
  route({
    op: "update_generator",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    body: generatorUpdate,
    handle: async ({ who, params, body, deps }) =>
      ok(generatorJson(await generators.updateGenerator(deps.db, who, params.id, body))),
  }),
  route({
    op: "delete_generator",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    handle: async ({ who, params, deps }) => {
      await generators.getOwnGenerator(deps.db, who, params.id);
      await generators.deleteGenerator(deps.db, params.id);
      return noContent();
    },
  }),
  route({
    op: "rotate_generator_pak",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    handle: async ({ who, params, deps }) => {
      await generators.getOwnGenerator(deps.db, who, params.id);
      const rotated = await generators.rotateGeneratorPak(deps.db, params.id);
      return created({ generator: generatorJson(rotated.generator), pak: rotated.pak });
    },
  }),
  route({
    op: "register_agent",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    body: registrationBody,
    handle: async ({ who, params, body, deps }) =>
      created(registrationJson(await registerAgentWith(deps.db, who, params.id, body.agent_id))),
  }),
  route({
    op: "deregister_agent",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    body: registrationBody,
    handle: async ({ who, params, body, deps }) => {
      await deregisterAgentFrom(deps.db, who, params.id, body.agent_id);
      return noContent();
    },
  }),
  route({
    op: "list_generator_registered_agents",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    handle: async ({ who, params, deps }) => ok((await registrationsOfGenerator(deps.db, who, params.id)).map(registrationJson)),
  }),
];
