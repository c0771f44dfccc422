/*
 * What `import:brokkr` copies from a Brokkr database, table by table in dependency order. Each
 * copy reads one page of Brokkr's rows (keyset paging on `page_key`, so memory stays bounded) in
 * the shape of our table, and writes it with ON CONFLICT DO NOTHING, so a second run copies
 * nothing and rows whose parent was not copied (a name taken here already) are skipped, not fatal.
 * Optional Brokkr columns are read through to_jsonb(row) so older Brokkr schemas import too.
 */
export interface TableCopy {
  /** Our table, and the columns written (read under the same names). */
  table: string;
  columns: readonly string[];
  /** Brokkr rows after `$1` (the last page key), at most `$2`, ordered by page_key. */
  read: string;
  /** A condition on the page's row `r` (parents that must exist here). */
  parents?: string;
  /** Write in this order (the sequence trigger numbers objects in insert order). */
  orderBy?: string;
  /** Rows per page (objects are large: fewer of them). */
  pageSize?: number;
  /** Brokkr tables this copy needs; when one is missing, `fallback` is read instead (or nothing). */
  requires?: readonly string[];
  fallback?: string;
}

const UUID_START = "00000000-0000-0000-0000-000000000000";
export const FIRST_PAGE_KEY: Record<"uuid" | "bigint", string> = { uuid: UUID_START, bigint: "-1" };

const byId = (select: string, from: string, where = "true") =>
  `SELECT ${select}, id::text AS page_key FROM ${from} WHERE ${where} AND id > $1::uuid ORDER BY id LIMIT $2`;

export const TABLE_COPIES: readonly (TableCopy & { pageKey: "uuid" | "bigint" })[] = [
  {
    table: "generators",
    pageKey: "uuid",
    columns: ["id", "name", "description", "pak_hash", "last_active_at", "created_at", "updated_at", "deleted_at"],
    read: byId(
      "id, name, description, NULLIF(pak_hash, '') AS pak_hash, last_active_at, created_at, updated_at, deleted_at",
      "generators",
    ),
  },
  {
    table: "agents",
    pageKey: "uuid",
    columns: [
      "id",
      "name",
      "cluster_name",
      "status",
      "pak_hash",
      "last_heartbeat",
      "k8s_reachable",
      "k8s_api_latency_ms",
      "created_at",
      "updated_at",
      "deleted_at",
    ],
    // Brokkr's status is free text: anything but ACTIVE imports as INACTIVE (an admin activates).
    read: byId(
      `id, name, cluster_name, CASE WHEN upper(status) = 'ACTIVE' THEN 'ACTIVE' ELSE 'INACTIVE' END AS status,
       NULLIF(pak_hash, '') AS pak_hash, last_heartbeat, (to_jsonb(a) ->> 'k8s_reachable')::boolean AS k8s_reachable,
       (to_jsonb(a) ->> 'k8s_api_latency_ms')::integer AS k8s_api_latency_ms, created_at, updated_at, deleted_at`,
      "agents a",
    ),
  },
  {
    table: "stacks",
    pageKey: "uuid",
    columns: ["id", "generator_id", "name", "description", "created_at", "updated_at", "deleted_at"],
    read: byId("id, generator_id, name, description, created_at, updated_at, deleted_at", "stacks"),
    // A live row under a deleted parent would be refused by our triggers: such inconsistent rows
    // are skipped (and counted), not fatal.
    parents:
      "EXISTS (SELECT 1 FROM generators g WHERE g.id = r.generator_id AND (g.deleted_at IS NULL OR r.deleted_at IS NOT NULL))",
  },
  ...(["agent", "stack"] as const).flatMap((owner) => [
    {
      table: `${owner}_labels`,
      pageKey: "uuid" as const,
      columns: ["id", `${owner}_id`, "label"],
      read: byId(`id, ${owner}_id, label`, `${owner}_labels`),
      parents: `EXISTS (SELECT 1 FROM ${owner}s o WHERE o.id = r.${owner}_id)`,
    },
    {
      table: `${owner}_annotations`,
      pageKey: "uuid" as const,
      columns: ["id", `${owner}_id`, "key", "value"],
      read: byId(`id, ${owner}_id, key, value`, `${owner}_annotations`),
      parents: `EXISTS (SELECT 1 FROM ${owner}s o WHERE o.id = r.${owner}_id)`,
    },
  ]),
  {
    table: "agent_generator_registrations",
    pageKey: "uuid",
    columns: ["id", "agent_id", "generator_id", "created_at"],
    read: byId("id, agent_id, generator_id, registered_at AS created_at", "agent_generator_registrations"),
    requires: ["agent_generator_registrations"],
    // Brokkr before its migration 23 had no registrations; that migration backfilled them from
    // targets (consent implied by being targeted), and so do we for such a database.
    fallback: `SELECT t.id, t.agent_id, s.generator_id, now() AS created_at, t.id::text AS page_key
                 FROM agent_targets t JOIN stacks s ON s.id = t.stack_id
                WHERE t.id > $1::uuid ORDER BY t.id LIMIT $2`,
    parents:
      "EXISTS (SELECT 1 FROM agents a WHERE a.id = r.agent_id) AND EXISTS (SELECT 1 FROM generators g WHERE g.id = r.generator_id)",
  },
  {
    table: "agent_targets",
    pageKey: "uuid",
    columns: ["id", "agent_id", "stack_id", "requires_registration"],
    // Brokkr gates every target on the registration, the admin's too: keep that consent.
    read: byId("id, agent_id, stack_id, true AS requires_registration", "agent_targets"),
    parents:
      "EXISTS (SELECT 1 FROM agents a WHERE a.id = r.agent_id) AND EXISTS (SELECT 1 FROM stacks s WHERE s.id = r.stack_id)",
  },
  {
    table: "deployment_objects",
    pageKey: "bigint",
    columns: [
      "id",
      "stack_id",
      "generator_id",
      "yaml_content",
      "yaml_checksum",
      "submitted_at",
      "is_deletion_marker",
      "created_at",
      "updated_at",
      "deleted_at",
    ],
    // Brokkr's objects carry no generator (the stack's is theirs) and its deletion markers an md5
    // checksum: anything that is not SHA-256 hex is recomputed over the content, as ours are.
    read: `SELECT d.id, d.stack_id, s.generator_id, d.yaml_content,
                  CASE WHEN d.yaml_checksum ~ '^[0-9a-f]{64}$' THEN d.yaml_checksum
                       ELSE encode(sha256(convert_to(d.yaml_content, 'UTF8')), 'hex') END AS yaml_checksum,
                  d.submitted_at, d.is_deletion_marker, d.created_at, d.updated_at, d.deleted_at,
                  d.sequence_id, d.sequence_id::text AS page_key
             FROM deployment_objects d JOIN stacks s ON s.id = d.stack_id
            WHERE d.sequence_id > $1::bigint ORDER BY d.sequence_id LIMIT $2`,
    parents:
      "EXISTS (SELECT 1 FROM stacks s WHERE s.id = r.stack_id AND (s.deleted_at IS NULL OR r.deleted_at IS NOT NULL OR r.is_deletion_marker))",
    orderBy: "r.sequence_id",
    pageSize: 20,
  },
  {
    table: "agent_events",
    pageKey: "uuid",
    columns: [
      "id",
      "agent_id",
      "deployment_object_id",
      "event_type",
      "status",
      "message",
      "created_at",
      "updated_at",
      "deleted_at",
    ],
    read: byId(
      "id, agent_id, deployment_object_id, left(event_type, 64) AS event_type, upper(status) AS status, message, created_at, updated_at, deleted_at",
      "agent_events",
      "upper(status) IN ('SUCCESS', 'FAILURE')",
    ),
    parents:
      "EXISTS (SELECT 1 FROM agents a WHERE a.id = r.agent_id) AND EXISTS (SELECT 1 FROM deployment_objects d WHERE d.id = r.deployment_object_id)",
  },
];
