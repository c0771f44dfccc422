-- Stack templates (reference §1.1, §1.7): a body in a Jinja-style language and a JSON Schema for
-- its parameters, owned by a generator or, with generator_id NULL, by the system (admin).
-- Every update inserts a new row (version + 1 per owner and name); old rows stay usable by id,
-- so a rendered object's provenance names exactly the body that produced it.
CREATE TABLE stack_templates (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    generator_id      UUID REFERENCES generators (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    description       TEXT,
    version           INTEGER NOT NULL CHECK (version >= 1),
    template_content  TEXT NOT NULL,
    -- Kept as the caller's text (Brokkr's wire shape is a string); validated as JSON Schema on write.
    parameters_schema TEXT NOT NULL,
    checksum          TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at        TIMESTAMPTZ
);
-- Over all rows, deleted ones included: a version number is never handed out twice for one
-- owner and name, so two concurrent updates cannot both make "version 3" (one gets a conflict).
-- COALESCE makes system templates (NULL owner) collide with each other as well.
CREATE UNIQUE INDEX stack_templates_owner_name_version_key
    ON stack_templates (COALESCE(generator_id, '00000000-0000-0000-0000-000000000000'::uuid), name, version);
CREATE INDEX stack_templates_live_name_idx ON stack_templates (name, version, id) WHERE deleted_at IS NULL;
CREATE INDEX stack_templates_generator_idx ON stack_templates (generator_id);

CREATE TRIGGER stack_templates_updated_at BEFORE UPDATE ON stack_templates
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();

CREATE TABLE template_labels (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    template_id UUID NOT NULL REFERENCES stack_templates (id) ON DELETE CASCADE,
    label       VARCHAR(64) NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (template_id, label)
);

CREATE TABLE template_annotations (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    template_id UUID NOT NULL REFERENCES stack_templates (id) ON DELETE CASCADE,
    key         VARCHAR(64) NOT NULL,
    value       VARCHAR(1024) NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (template_id, key)
);

-- Provenance of a rendered deployment object, written in the object's own transaction. The
-- template's name and version are copied so provenance stays readable after the template row
-- is hard-deleted (template_id is then NULL).
CREATE TABLE rendered_deployment_objects (
    deployment_object_id UUID PRIMARY KEY REFERENCES deployment_objects (id) ON DELETE CASCADE,
    template_id          UUID REFERENCES stack_templates (id) ON DELETE SET NULL,
    template_name        TEXT NOT NULL,
    template_version     INTEGER NOT NULL,
    template_parameters  JSONB NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX rendered_deployment_objects_template_idx ON rendered_deployment_objects (template_id);

-- Soft-deleting a generator soft-deletes its templates (Brokkr's migration 07 does the same).
CREATE FUNCTION brokkr_generator_soft_delete_templates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stack_templates SET deleted_at = NEW.deleted_at
     WHERE generator_id = NEW.id AND deleted_at IS NULL;
    RETURN NULL;
END;
$$;
CREATE TRIGGER generators_soft_delete_templates AFTER UPDATE OF deleted_at ON generators
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION brokkr_generator_soft_delete_templates();
