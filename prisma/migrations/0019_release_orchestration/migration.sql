-- Release orchestration (seed 003; docs/release-orchestration.md is the contract of who owns what).
--
-- A target is a cluster's agent; delivery is our deployment objects; the audit trail is ours.
-- Each (environment, agent) pair gets one stack of its own (environment_agent_stacks), owned by
-- the orchestrator's generator and explicitly targeted at that agent alone: a rolling job
-- delivers to one batch of agents by creating objects on those agents' stacks only, which the
-- delivery path already knows how to do (a stack's object reaches every agent it targets at
-- once, so a per-environment stack could not roll out in batches).
--
-- All state of a job lives here, never only in a broker's memory: a broker restarting mid-job
-- resumes from these rows, and a runner claims a job by lease (lease_owner, lease_expires_at,
-- taken with FOR UPDATE SKIP LOCKED) so two brokers never run one job at once.

CREATE TABLE environments (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name               TEXT NOT NULL CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    display_name       TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 255),
    -- Promotion order: the previous environment of E is the live one with the greatest order
    -- index below E's.
    order_index        INTEGER NOT NULL CHECK (order_index BETWEEN 0 AND 100000),
    -- Values merged into rendered releases (under `environment.config`), at most 64 KiB.
    config             JSONB NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(config) = 'object'),
    -- Which agents it contains besides explicit members: every label listed and every
    -- annotation pair listed must be on the agent (AND). {"labels": [...], "annotations": [{"key","value"}]}.
    -- An empty selector selects nobody (explicit members only).
    agent_selector     JSONB NOT NULL DEFAULT '{"labels": [], "annotations": []}'::jsonb,
    -- [{"start": ISO, "end": ISO, "reason"} | {"days": ["MON",..], "startTime": "HH:MM", "endTime": "HH:MM", "reason"}],
    -- recurring windows read in time_zone (an IANA name); a window whose endTime <= startTime
    -- runs past midnight.
    freeze_windows     JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(freeze_windows) = 'array'),
    time_zone          TEXT NOT NULL DEFAULT 'UTC',
    required_approvals INTEGER NOT NULL DEFAULT 0 CHECK (required_approvals BETWEEN 0 AND 10),
    -- Separation of duties: the requester may not approve (approvers are always distinct).
    require_sod        BOOLEAN NOT NULL DEFAULT true,
    rollout_strategy   TEXT NOT NULL DEFAULT 'ALL_AT_ONCE' CHECK (rollout_strategy IN ('ALL_AT_ONCE', 'ROLLING')),
    -- ROLLING: batches of batch_size agents, or of batch_percent % (rounded up, at least 1).
    batch_size         INTEGER CHECK (batch_size BETWEEN 1 AND 100000),
    batch_percent      INTEGER CHECK (batch_percent BETWEEN 1 AND 100),
    -- A job halts (FAILED) once this many of its tasks have failed.
    failure_threshold  INTEGER NOT NULL DEFAULT 1 CHECK (failure_threshold BETWEEN 1 AND 100000),
    -- What an agent does when its version sticker or applied resources drifted.
    drift_policy       TEXT NOT NULL DEFAULT 'REPORT' CHECK (drift_policy IN ('REPORT', 'HEAL')),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at         TIMESTAMPTZ,
    CONSTRAINT environments_rolling_batch_check CHECK (
        rollout_strategy <> 'ROLLING' OR (batch_size IS NULL) <> (batch_percent IS NULL))
);
CREATE UNIQUE INDEX environments_name_live_key ON environments (name) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX environments_order_live_key ON environments (order_index) WHERE deleted_at IS NULL;
CREATE TRIGGER environments_updated_at BEFORE UPDATE ON environments
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();

CREATE TABLE environment_members (
    environment_id UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    agent_id       UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (environment_id, agent_id)
);
CREATE INDEX environment_members_agent_idx ON environment_members (agent_id);

-- The stack through which an environment reaches one agent (created on first delivery).
CREATE TABLE environment_agent_stacks (
    environment_id UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    agent_id       UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    stack_id       UUID NOT NULL UNIQUE REFERENCES stacks (id) ON DELETE CASCADE,
    PRIMARY KEY (environment_id, agent_id)
);

CREATE TABLE components (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name             TEXT NOT NULL CHECK (name ~ '^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$'),
    display_name     TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 255),
    image_repository TEXT NOT NULL CHECK (length(image_repository) BETWEEN 1 AND 255),
    default_channel  TEXT NOT NULL DEFAULT 'stable' CHECK (default_channel ~ '^[a-z0-9-]{1,32}$'),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at       TIMESTAMPTZ
);
CREATE UNIQUE INDEX components_name_live_key ON components (name) WHERE deleted_at IS NULL;
CREATE TRIGGER components_updated_at BEFORE UPDATE ON components
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();

-- Versions registered by generators (CI): tag -> digest -> semver. Immutable once registered
-- (a tag that moves is a new row only if its digest differs: same tag + digest is idempotent,
-- same tag + other digest is a CONFLICT; the service decides, the unique keys enforce).
CREATE TABLE component_versions (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    component_id UUID NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    tag          TEXT NOT NULL CHECK (tag ~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'),
    digest       TEXT NOT NULL CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
    -- Semantic Versioning 2.0.0 (validated by the service with a semver library).
    semver       TEXT NOT NULL CHECK (length(semver) BETWEEN 5 AND 255),
    channel      TEXT NOT NULL DEFAULT 'stable' CHECK (channel ~ '^[a-z0-9-]{1,32}$'),
    registered_by_generator_id UUID REFERENCES generators (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (component_id, tag),
    UNIQUE (component_id, digest),
    UNIQUE (component_id, semver)
);

CREATE TABLE releases (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    display_name TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 255),
    status       TEXT NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'READY', 'DEPLOYED', 'DEPRECATED')),
    -- The stack template rendered for each environment, and its parameters (at most 64 KiB).
    template_id  UUID NOT NULL REFERENCES stack_templates (id),
    parameters   JSONB NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(parameters) = 'object'),
    -- {"repository", "revision", ...}: where it was built from (free-form, at most 4 KiB).
    source_ref   JSONB,
    created_by_user_id      UUID REFERENCES users (id) ON DELETE SET NULL,
    created_by_generator_id UUID REFERENCES generators (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX releases_name_key ON releases (name);
CREATE INDEX releases_created_at_id_idx ON releases (created_at, id);
CREATE TRIGGER releases_updated_at BEFORE UPDATE ON releases
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();

-- The bundle: one registered version (hence one digest) per component.
CREATE TABLE release_components (
    release_id           UUID NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    component_id         UUID NOT NULL REFERENCES components (id),
    component_version_id UUID NOT NULL REFERENCES component_versions (id),
    PRIMARY KEY (release_id, component_id)
);

-- A release's content is fixed once it leaves DRAFT: its components and template may not change.
CREATE FUNCTION brokkr_release_components_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rid UUID;
BEGIN
    IF TG_OP = 'DELETE' THEN rid := OLD.release_id; ELSE rid := NEW.release_id; END IF;
    IF EXISTS (SELECT 1 FROM releases WHERE id = rid AND status <> 'DRAFT') THEN
        RAISE EXCEPTION 'release % is no longer a draft: its components are fixed', rid
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER release_components_frozen BEFORE INSERT OR UPDATE OR DELETE ON release_components
    FOR EACH ROW EXECUTE FUNCTION brokkr_release_components_frozen();

CREATE TABLE promotions (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    release_id            UUID NOT NULL REFERENCES releases (id),
    source_environment_id UUID REFERENCES environments (id),
    target_environment_id UUID NOT NULL REFERENCES environments (id),
    -- PENDING_APPROVAL -> APPROVED -> DEPLOYING -> DEPLOYED | FAILED; PENDING_APPROVAL -> REJECTED;
    -- DEPLOYED | FAILED -> ROLLED_BACK (rollbackPromotion). APPROVED waits while a freeze window is active.
    status                TEXT NOT NULL DEFAULT 'PENDING_APPROVAL' CHECK (status IN (
        'PENDING_APPROVAL', 'APPROVED', 'DEPLOYING', 'DEPLOYED', 'FAILED', 'REJECTED', 'ROLLED_BACK')),
    -- The gates as evaluated, in order: [{"name", "passed", "detail", "inputs", "evaluatedAt"}],
    -- appended to at each evaluation (request, final approval, job start).
    decision_record       JSONB NOT NULL DEFAULT '[]'::jsonb,
    -- Who asked: a user, a generator, or the admin key (neither set).
    requested_by_user_id      UUID REFERENCES users (id) ON DELETE SET NULL,
    requested_by_generator_id UUID REFERENCES generators (id) ON DELETE SET NULL,
    requested_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at            TIMESTAMPTZ,
    completed_at          TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- At most one promotion in flight per environment (a second request is a CONFLICT).
CREATE UNIQUE INDEX promotions_in_flight_key ON promotions (target_environment_id)
    WHERE status IN ('PENDING_APPROVAL', 'APPROVED', 'DEPLOYING');
CREATE INDEX promotions_release_idx ON promotions (release_id);
CREATE INDEX promotions_created_at_id_idx ON promotions (created_at, id);
CREATE TRIGGER promotions_updated_at BEFORE UPDATE ON promotions
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();

CREATE TABLE promotion_approvals (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    promotion_id UUID NOT NULL REFERENCES promotions (id) ON DELETE CASCADE,
    approver_id  UUID NOT NULL REFERENCES users (id),
    action       TEXT NOT NULL CHECK (action IN ('APPROVED', 'REJECTED')),
    comment      TEXT CHECK (length(comment) <= 4096),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- An approver decides once.
    UNIQUE (promotion_id, approver_id)
);

CREATE TABLE deployment_jobs (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    promotion_id      UUID NOT NULL REFERENCES promotions (id),
    release_id        UUID NOT NULL REFERENCES releases (id),
    environment_id    UUID NOT NULL REFERENCES environments (id),
    -- PENDING -> RUNNING -> SUCCEEDED | FAILED (halted at the failure threshold).
    status            TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED')),
    strategy          TEXT NOT NULL CHECK (strategy IN ('ALL_AT_ONCE', 'ROLLING')),
    batch_size        INTEGER,
    batch_percent     INTEGER,
    failure_threshold INTEGER NOT NULL DEFAULT 1,
    current_batch     INTEGER NOT NULL DEFAULT 0,
    -- What was rendered for the environment (one content for every agent) and its SHA-256.
    rendered_yaml     TEXT,
    rendered_checksum TEXT,
    -- {"components": [{"component", "tag", "digest", "semver"}], ...}: the generated artifacts.
    artifacts         JSONB NOT NULL DEFAULT '{}'::jsonb,
    -- A rollback job re-delivers the release this one replaced.
    rollback_of       UUID REFERENCES deployment_jobs (id),
    lease_owner       TEXT,
    lease_expires_at  TIMESTAMPTZ,
    message           TEXT,
    started_at        TIMESTAMPTZ,
    finished_at       TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX deployment_jobs_active_idx ON deployment_jobs (created_at) WHERE status IN ('PENDING', 'RUNNING');
CREATE INDEX deployment_jobs_promotion_idx ON deployment_jobs (promotion_id);
CREATE INDEX deployment_jobs_env_release_idx ON deployment_jobs (environment_id, release_id);
CREATE TRIGGER deployment_jobs_updated_at BEFORE UPDATE ON deployment_jobs
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();

CREATE TABLE deployment_tasks (
    id                   UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id               UUID NOT NULL REFERENCES deployment_jobs (id) ON DELETE CASCADE,
    agent_id             UUID NOT NULL REFERENCES agents (id),
    stack_id             UUID REFERENCES stacks (id),
    batch_index          INTEGER NOT NULL DEFAULT 0,
    -- PENDING -> DELIVERED (object created) -> SUCCEEDED | FAILED; SKIPPED when the job halted first.
    status               TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'SUCCEEDED', 'FAILED', 'SKIPPED')),
    deployment_object_id UUID UNIQUE REFERENCES deployment_objects (id),
    -- The object this agent's stack held before (what a rollback re-delivers).
    previous_deployment_object_id UUID REFERENCES deployment_objects (id),
    -- The components' digests this task delivers, as in the job's artifacts.
    digests              JSONB NOT NULL DEFAULT '[]'::jsonb,
    message              TEXT,
    delivered_at         TIMESTAMPTZ,
    finished_at          TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (job_id, agent_id)
);
CREATE INDEX deployment_tasks_agent_idx ON deployment_tasks (agent_id);
CREATE TRIGGER deployment_tasks_updated_at BEFORE UPDATE ON deployment_tasks
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();

-- Immutable signed evidence: content is canonical JSON (RFC 8785), content_hash its SHA-256 hex,
-- signature an Ed25519 signature (base64) over the canonical bytes by the key named signer_key_id.
CREATE TABLE evidence_packets (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    promotion_id  UUID NOT NULL REFERENCES promotions (id),
    job_id        UUID REFERENCES deployment_jobs (id),
    packet_type   TEXT NOT NULL CHECK (packet_type IN (
        'PROMOTION_REQUESTED', 'APPROVAL', 'REJECTION', 'PROMOTION_APPROVED', 'JOB_COMPLETED', 'ROLLBACK_COMPLETED')),
    content       JSONB NOT NULL,
    content_hash  TEXT NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    signature     TEXT NOT NULL,
    signer_key_id TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX evidence_packets_promotion_idx ON evidence_packets (promotion_id, created_at);
-- One completion packet per job, however many brokers notice the completion.
CREATE UNIQUE INDEX evidence_packets_job_completed_key ON evidence_packets (job_id)
    WHERE packet_type IN ('JOB_COMPLETED', 'ROLLBACK_COMPLETED');

CREATE FUNCTION brokkr_evidence_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'evidence packets are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER evidence_packets_append_only BEFORE UPDATE OR DELETE ON evidence_packets
    FOR EACH ROW EXECUTE FUNCTION brokkr_evidence_append_only();
CREATE TRIGGER evidence_packets_no_truncate BEFORE TRUNCATE ON evidence_packets
    FOR EACH STATEMENT EXECUTE FUNCTION brokkr_evidence_append_only();

-- The signing keys: the private key encrypted at rest with the broker's secret keyring (the
-- webhook key), generated on first use unless configuration gives one. Old keys stay to verify.
CREATE TABLE evidence_signing_keys (
    id                 TEXT PRIMARY KEY,
    public_key_pem     TEXT NOT NULL,
    private_key_sealed TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    retired_at         TIMESTAMPTZ
);

-- What an agent wrote after a task succeeded (a ConfigMap in its cluster) and reported back,
-- with the latest drift check.
CREATE TABLE version_stickers (
    id                   UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id             UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    environment_id       UUID NOT NULL REFERENCES environments (id),
    release_id           UUID NOT NULL REFERENCES releases (id),
    promotion_id         UUID NOT NULL REFERENCES promotions (id),
    task_id              UUID NOT NULL UNIQUE REFERENCES deployment_tasks (id),
    deployment_object_id UUID NOT NULL REFERENCES deployment_objects (id),
    sticker_content      JSONB NOT NULL,
    content_hash         TEXT NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    written_at           TIMESTAMPTZ NOT NULL,
    drift_detected       BOOLEAN NOT NULL DEFAULT false,
    -- [{"kind", "namespace", "name", "reason": CHANGED|DELETED|FOREIGN_MANAGER|STICKER_CHANGED, "path", "manager"}]
    drift_details        JSONB NOT NULL DEFAULT '[]'::jsonb,
    drift_checked_at     TIMESTAMPTZ,
    healed_at            TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- The current sticker of an agent in an environment is its newest row.
CREATE INDEX version_stickers_agent_env_idx ON version_stickers (agent_id, environment_id, written_at DESC);
CREATE TRIGGER version_stickers_updated_at BEFORE UPDATE ON version_stickers
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();

-- promotionProgress: each broker hears, by id, of any change to a promotion, its approvals, its
-- job or its tasks, and re-reads the promotion. A job's tasks change at most a few times each, so
-- one NOTIFY per changed row is affordable here (unlike the per-object delivery path).
CREATE FUNCTION brokkr_notify_promotion() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pid UUID;
BEGIN
    IF TG_TABLE_NAME = 'promotions' THEN pid := NEW.id;
    ELSIF TG_TABLE_NAME = 'deployment_tasks' THEN
        SELECT promotion_id INTO pid FROM deployment_jobs WHERE id = NEW.job_id;
    ELSE pid := NEW.promotion_id;
    END IF;
    PERFORM pg_notify('brokkr_promotions', pid::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER promotions_progress_notify AFTER INSERT OR UPDATE ON promotions
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_promotion();
CREATE TRIGGER promotion_approvals_progress_notify AFTER INSERT ON promotion_approvals
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_promotion();
CREATE TRIGGER deployment_jobs_progress_notify AFTER INSERT OR UPDATE OF status, current_batch ON deployment_jobs
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_promotion();
CREATE TRIGGER deployment_tasks_progress_notify AFTER INSERT OR UPDATE OF status ON deployment_tasks
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_promotion();
CREATE TRIGGER evidence_packets_progress_notify AFTER INSERT ON evidence_packets
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_promotion();
