import { createHash } from "node:crypto";
import { ok, type GraphQLResult, type TestBroker } from "./broker.js";
import { unique } from "./factories.js";
import { createTemplate } from "./templates.js";

/*
 * Factories of the release catalog (environments, components, versions, releases), through
 * GraphQL as a client would call them, for the catalog's tests and the promotion, rollout and
 * sticker tests. Each takes the PAK to call with (default: the admin) and returns the new ids.
 */

export const ENVIRONMENT_FIELDS = `id name displayName orderIndex config timeZone requiredApprovals
  requireSeparationOfDuties rolloutStrategy batchSize batchPercent failureThreshold driftPolicy createdAt updatedAt
  agentSelector { labels annotations { key value } }
  freezeWindows { start end days startTime endTime reason }`;

export const RELEASE_FIELDS = `id name displayName status parameters sourceRef createdAt updatedAt
  template { id name version }
  components { image component { id name imageRepository } version { id tag digest semver channel } }`;

export const VERSION_FIELDS = "id tag digest semver channel createdAt component { id name }";

/** A digest that is the SHA-256 of `seed` (distinct seeds, distinct digests). */
export const digestOf = (seed: string) => `sha256:${createHash("sha256").update(seed).digest("hex")}`;

let orderCounter = 0;
/** An order index no other factory-made environment took (a file's tests share one database). */
export const nextOrderIndex = () => 50_000 + ++orderCounter;

export function createEnvironmentRaw(broker: TestBroker, input: Record<string, unknown>, pak = broker.adminPak) {
  return broker.gql<{ createEnvironment: { environment: { id: string; name: string; orderIndex: number } } }>(
    `mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { environment { ${ENVIRONMENT_FIELDS} } } }`,
    { i: input },
    pak,
  );
}

/** A new environment; `input` overrides the defaults (a unique name and order index). */
export async function createEnvironment(broker: TestBroker, input: Record<string, unknown> = {}, pak = broker.adminPak) {
  const full = { name: unique("env").replace(/[^a-z0-9-]/g, ""), orderIndex: nextOrderIndex(), ...input };
  return ok(await createEnvironmentRaw(broker, full, pak)).createEnvironment.environment;
}

export function updateEnvironmentRaw(broker: TestBroker, input: Record<string, unknown>, pak = broker.adminPak) {
  return broker.gql<{ updateEnvironment: { environment: Record<string, any> } }>(
    `mutation($i: UpdateEnvironmentInput!) { updateEnvironment(input: $i) { environment { ${ENVIRONMENT_FIELDS} } } }`,
    { i: input },
    pak,
  );
}

export function createComponentRaw(broker: TestBroker, input: Record<string, unknown>, pak = broker.adminPak) {
  return broker.gql<{ createComponent: { component: { id: string; name: string; imageRepository: string } } }>(
    `mutation($i: CreateComponentInput!) { createComponent(input: $i) {
       component { id name displayName imageRepository defaultChannel createdAt } } }`,
    { i: input },
    pak,
  );
}

/** A component with a unique name, its image at registry.example.com/<name>. */
export async function createComponent(broker: TestBroker, input: Record<string, unknown> = {}, pak = broker.adminPak) {
  const name = unique("comp");
  return ok(await createComponentRaw(broker, { name, imageRepository: `registry.example.com/team/${name}`, ...input }, pak))
    .createComponent.component;
}

export function registerVersionRaw(broker: TestBroker, input: Record<string, unknown>, pak = broker.adminPak) {
  return broker.gql<{
    registerComponentVersion: { version: { id: string; tag: string; digest: string; semver: string }; created: boolean };
  }>(
    `mutation($i: RegisterComponentVersionInput!) { registerComponentVersion(input: $i) { created version { ${VERSION_FIELDS} } } }`,
    { i: input },
    pak,
  );
}

let versionCounter = 0;
/** A version of the component: tag v1.<n>.0 and semver 1.<n>.0 unless given, a digest from the tag. */
export async function registerVersion(
  broker: TestBroker,
  componentId: string,
  input: { tag?: string; digest?: string; semver?: string; channel?: string } = {},
  pak = broker.adminPak,
) {
  const n = ++versionCounter;
  const tag = input.tag ?? `v1.${n}.0`;
  const full = {
    componentId,
    tag,
    semver: input.semver ?? `1.${n}.0`,
    digest: input.digest ?? digestOf(`${componentId}:${tag}`),
    ...input,
  };
  return ok(await registerVersionRaw(broker, full, pak)).registerComponentVersion.version;
}

export function createReleaseRaw(broker: TestBroker, input: Record<string, unknown>, pak = broker.adminPak) {
  return broker.gql<{ createRelease: { release: ReleaseView } }>(
    `mutation($i: CreateReleaseInput!) { createRelease(input: $i) { release { ${RELEASE_FIELDS} } } }`,
    { i: input },
    pak,
  );
}

export interface ReleaseView {
  id: string;
  name: string;
  status: string;
  parameters: Record<string, unknown>;
  template: { id: string; name: string; version: number };
  components: { image: string; component: { id: string; name: string }; version: { id: string; digest: string; tag: string } }[];
}

/**
 * A release of the given versions (each `{componentId, versionId}`, or any one key of a
 * ReleaseComponentInput); without `templateId`, of a new ConfigMap template of the caller.
 */
export async function createRelease(
  broker: TestBroker,
  input: { components: Record<string, unknown>[]; templateId?: string; name?: string; ready?: boolean; parameters?: unknown },
  pak = broker.adminPak,
) {
  const templateId = input.templateId ?? (await createTemplate(broker, pak)).id;
  const full = { name: unique("rel"), parameters: { name: "demo" }, ...input, templateId };
  return ok(await createReleaseRaw(broker, full, pak)).createRelease.release;
}

/** One component with one version, and a READY release of it: the usual start of a promotion test. */
export async function readyRelease(broker: TestBroker, pak = broker.adminPak) {
  const component = await createComponent(broker, {}, pak);
  const version = await registerVersion(broker, component.id, {}, pak);
  const release = await createRelease(
    broker,
    { components: [{ componentId: component.id, versionId: version.id }], ready: true },
    pak,
  );
  return { component, version, release };
}

export function setReleaseStatus(broker: TestBroker, id: string, status: string, pak = broker.adminPak) {
  return broker.gql<{ setReleaseStatus: { release: { id: string; status: string } } }>(
    `mutation($i: SetReleaseStatusInput!) { setReleaseStatus(input: $i) { release { id status } } }`,
    { i: { id, status } },
    pak,
  );
}

/**
 * A promotion row written by SQL (the promotions domain writes them through its own API), e.g.
 * DEPLOYED to make a release current in an environment.
 */
export async function insertPromotionRow(
  broker: TestBroker,
  releaseId: string,
  environmentId: string,
  status = "DEPLOYED",
  completedAt: Date | null = new Date(),
): Promise<string> {
  const { rows } = await broker.db.sql.query(
    `INSERT INTO promotions (release_id, target_environment_id, status, completed_at) VALUES ($1, $2, $3, $4) RETURNING id`,
    [releaseId, environmentId, status, completedAt],
  );
  return rows[0].id as string;
}

export const fieldOf = (r: GraphQLResult) => r.errors?.[0]?.extensions?.field;
