import type { Db } from "../db/client.js";

/** What rendering a release for an environment reads (raw SQL: the 0019 tables have no Prisma models). */
export interface RenderSource {
  release: { id: string; name: string; templateId: string; parameters: Record<string, unknown> };
  components: { component: string; repository: string; tag: string; digest: string; semver: string }[];
}

export interface RenderEnvironment {
  id: string;
  name: string;
  config: Record<string, unknown>;
}

export async function findReleaseSource(db: Db, releaseId: string): Promise<RenderSource | null> {
  const [release] = await db.$queryRaw<RenderSource["release"][]>`
    SELECT id::text, name, template_id::text AS "templateId", parameters
      FROM releases WHERE id = ${releaseId}::uuid`;
  if (!release) return null;
  const components = await db.$queryRaw<RenderSource["components"]>`
    SELECT c.name AS component, c.image_repository AS repository, v.tag, v.digest, v.semver
      FROM release_components rc
      JOIN components c ON c.id = rc.component_id
      JOIN component_versions v ON v.id = rc.component_version_id
     WHERE rc.release_id = ${releaseId}::uuid
     ORDER BY c.name`;
  return { release, components };
}

export async function findRenderEnvironment(db: Db, environmentId: string): Promise<RenderEnvironment | null> {
  const [environment] = await db.$queryRaw<RenderEnvironment[]>`
    SELECT id::text, name, config FROM environments WHERE id = ${environmentId}::uuid AND deleted_at IS NULL`;
  return environment ?? null;
}
