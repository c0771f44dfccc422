import type { Command } from "commander";
import type { BrokerClient } from "./client.js";
import { printObject, printRows } from "./output.js";
import { CliError } from "./session.js";
import { isUuid } from "../../validation.js";
import fs from "node:fs";

type Ctx = { client: () => BrokerClient; json: () => boolean };
type Named = { id: string; name: string };

const collect = (value: string, previous: string[]) => [...previous, value];

/** An id, or the name of one of the nodes a connection field lists. */
export async function resolveNamed(client: BrokerClient, field: string, ref: string, what: string): Promise<Named> {
  const nodes = await client.all<Named>(
    `query($after: String) { ${field}(first: 100, after: $after) { edges { node { id name } } pageInfo { hasNextPage endCursor } } }`,
    field,
  );
  const found = nodes.find((n) => n.id === ref || n.name === ref);
  if (!found) throw new CliError(`no ${what} named ${ref}`);
  return found;
}

/** `component=ref` where ref is a digest, a semver or a tag (tried in that order of shape). */
function componentRef(spec: string, components: Named[]) {
  const at = spec.indexOf("=");
  if (at < 1) throw new CliError(`--component ${spec}: expected <component>=<digest|semver|tag>`, 2);
  const name = spec.slice(0, at);
  const ref = spec.slice(at + 1);
  const component = components.find((c) => c.name === name || c.id === name);
  if (!component) throw new CliError(`--component ${spec}: no component named ${name}`, 2);
  if (ref.startsWith("sha256:")) return { componentId: component.id, digest: ref };
  if (isUuid(ref)) return { componentId: component.id, versionId: ref };
  return { componentId: component.id, tag: ref };
}

function readJson(file: string | undefined, flag: string): unknown {
  if (!file) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new CliError(`${flag} ${file}: ${(err as Error).message}`, 2);
  }
}

export function registerCatalogCommands(program: Command, { client, json }: Ctx): void {
  program
    .command("environments")
    .description("environments in promotion order, with the release each holds")
    .action(async () => {
      const rows = await client().all<Record<string, unknown> & { currentRelease: Named | null }>(
        `query($after: String) { environments(first: 100, after: $after) { edges { node { id name orderIndex requiredApprovals rolloutStrategy currentRelease { id name } activeFreezeWindow { reason } } } pageInfo { hasNextPage endCursor } } }`,
        "environments",
      );
      const view = rows.map((r) => ({ ...r, release: r.currentRelease?.name ?? null }));
      printRows(json() ? rows : view, ["orderIndex", "name", "id", "release", "requiredApprovals", "rolloutStrategy"], json());
    });

  const component = program.command("component").description("components (image repositories) and their versions");
  component
    .command("create <name>")
    .requiredOption("--image <repository>", "image repository, e.g. registry.example.com/shop/api")
    .option("--display-name <text>")
    .action(async (name: string, opts: { image: string; displayName?: string }) => {
      const { createComponent } = await client().query<{ createComponent: { component: object } }>(
        "mutation($input: CreateComponentInput!) { createComponent(input: $input) { component { id name imageRepository } } }",
        { input: { name, imageRepository: opts.image, displayName: opts.displayName } },
      );
      printObject(createComponent.component, json());
    });
  component
    .command("version <component>")
    .description("register a built image: tag, digest and semver (CI)")
    .requiredOption("--tag <tag>")
    .requiredOption("--digest <sha256:…>")
    .requiredOption("--semver <version>")
    .option("--channel <channel>")
    .action(async (ref: string, opts: { tag: string; digest: string; semver: string; channel?: string }) => {
      const found = await resolveNamed(client(), "components", ref, "component");
      const { registerComponentVersion: r } = await client().query<{
        registerComponentVersion: { created: boolean; version: Record<string, unknown> };
      }>(
        "mutation($input: RegisterComponentVersionInput!) { registerComponentVersion(input: $input) { created version { id tag digest semver channel } } }",
        { input: { componentId: found.id, ...opts } },
      );
      printObject({ result: r.created ? "created" : "unchanged", ...r.version }, json());
    });

  const release = program.command("release").description("releases: bundles of component digests");
  release
    .command("create <name>")
    .requiredOption("--template <id>", "the stack template rendered per environment")
    .option("--component <name=digest|tag>", "a component's version (repeatable)", collect, [])
    .option("--parameters <file.json>", "template parameters")
    .option("--ready", "mark it READY at once")
    .action(async (name: string, opts: { template: string; component: string[]; parameters?: string; ready?: boolean }) => {
      const components = await client().all<Named>(
        "query($after: String) { components(first: 100, after: $after) { edges { node { id name } } pageInfo { hasNextPage endCursor } } }",
        "components",
      );
      const input = {
        name,
        templateId: opts.template,
        parameters: readJson(opts.parameters, "--parameters"),
        components: opts.component.map((spec) => componentRef(spec, components)),
        ready: Boolean(opts.ready),
      };
      const { createRelease } = await client().query<{ createRelease: { release: object } }>(
        "mutation($input: CreateReleaseInput!) { createRelease(input: $input) { release { id name status components { image } } } }",
        { input },
      );
      printObject(createRelease.release, json());
    });
  release
    .command("ready <release>")
    .description("mark a draft release READY")
    .action(async (ref: string) => {
      const found = await resolveNamed(client(), "releases", ref, "release");
      const { setReleaseStatus } = await client().query<{ setReleaseStatus: { release: object } }>(
        "mutation($input: SetReleaseStatusInput!) { setReleaseStatus(input: $input) { release { id name status } } }",
        { input: { id: found.id, status: "READY" } },
      );
      printObject(setReleaseStatus.release, json());
    });
  program
    .command("releases")
    .description("releases, newest first")
    .option("--status <status>", "DRAFT, READY, DEPLOYED or DEPRECATED")
    .action(async (opts: { status?: string }) => {
      const rows = await client().all<Record<string, unknown> & { deployedTo: Named[] }>(
        `query($after: String, $status: ReleaseStatus) { releases(first: 100, after: $after, status: $status) { edges { node { id name status createdAt deployedTo { id name } } } pageInfo { hasNextPage endCursor } } }`,
        "releases",
        { status: opts.status ?? null },
      );
      const view = rows.map((r) => ({ ...r, deployedTo: r.deployedTo.map((e) => e.name) }));
      printRows(json() ? rows : view, ["name", "id", "status", "deployedTo", "createdAt"], json());
    });
}
