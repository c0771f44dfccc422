import type { Identity } from "../auth/identity.js";
import type { Db } from "../db/client.js";
import { sha256Hex } from "../deployment-objects/yaml.js";
import { forbidden, notFound } from "../errors.js";
import { renderTemplate } from "../templates/instantiate.js";
import { findTemplate } from "../templates/store.js";
import { DEFAULT_INPUT_LIMITS, type InputLimits, requireId } from "../validation.js";
import { findReleaseSource, findRenderEnvironment, type RenderSource } from "./render-store.js";

export interface ComponentArtifact {
  component: string;
  image: string;
  tag: string;
  digest: string;
  semver: string;
}

export interface RenderedRelease {
  yamlContent: string;
  /** SHA-256 hex of yamlContent, as deployment objects' yaml_checksum. */
  checksum: string;
  /** What deployment_jobs.artifacts holds: the digests the content pins. */
  artifacts: { components: ComponentArtifact[] };
}

const artifactsOf = (components: RenderSource["components"]): ComponentArtifact[] =>
  components.map((c) => ({
    component: c.component,
    image: `${c.repository}@${c.digest}`,
    tag: c.tag,
    digest: c.digest,
    semver: c.semver,
  }));

/**
 * The release's stack template rendered for one environment, through the templates' own render
 * path (worker, parameter schema, manifest check). Parameters: the release's, then
 * `components.<name>` = {image, tag, digest, semver} and `environment` = {name, config}, which
 * win over release parameters of the same name. A deleted template still renders: a release's
 * content is fixed once it leaves DRAFT.
 */
export async function renderReleaseForEnvironment(
  db: Db,
  releaseId: string,
  environmentId: string,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): Promise<RenderedRelease> {
  const source = await findReleaseSource(db, requireId("releaseId", releaseId));
  if (!source) throw notFound("release");
  const environment = await findRenderEnvironment(db, requireId("environmentId", environmentId));
  if (!environment) throw notFound("environment");
  const template = await findTemplate(db, source.release.templateId, true);
  if (!template) throw notFound("template");
  const artifacts = artifactsOf(source.components);
  const components = Object.fromEntries(
    artifacts.map(({ component, image, tag, digest, semver }) => [component, { image, tag, digest, semver }]),
  );
  const parameters = {
    ...source.release.parameters,
    components,
    environment: { name: environment.name, config: environment.config },
  };
  const { output } = await renderTemplate(template, parameters, limits);
  return { yamlContent: output, checksum: sha256Hex(output), artifacts: { components: artifacts } };
}

/** renderRelease: the admin (read-only users are refused as for every mutation) and generators; never agents. */
export function renderReleaseAs(
  db: Db,
  identity: Identity,
  input: { releaseId: string; environmentId: string },
  limits: InputLimits,
) {
  if (identity.role === "AGENT") throw forbidden();
  return renderReleaseForEnvironment(db, input.releaseId, input.environmentId, limits);
}
