import type { Database } from "../db/client.js";
import { badInput } from "../errors.js";
import { isUuid } from "../validation.js";

/** Upserts the latest health per (agent, deployment object). */
export async function recordHealth(
  db: Database,
  agentId: string,
  updates: { id: string; status: string; summary?: unknown; checked_at: string }[],
): Promise<void> {
  for (const [i, u] of updates.entries()) if (!isUuid(u.id)) throw badInput(`deployment_objects.${i}.id`, "not a valid id");
  await db.$transaction(
    updates.map((u) => {
      const summary = u.summary === undefined ? null : typeof u.summary === "string" ? u.summary : JSON.stringify(u.summary);
      const checkedAt = new Date(u.checked_at);
      return db.deploymentHealth.upsert({
        where: { agentId_deploymentObjectId: { agentId, deploymentObjectId: u.id } },
        create: { agentId, deploymentObjectId: u.id, status: u.status, summary, checkedAt },
        update: { status: u.status, summary, checkedAt },
      });
    }),
  );
}
