-- The one definition of which stacks reach an agent: explicit targets, plus stacks sharing a
-- label, or an annotation key and value, with the agent, counting those only for generators the
-- agent is registered with. Soft-deleted stacks stay associated so that their deletion marker
-- reaches agents that were offline; hard-deleted ones are gone. PostgreSQL pushes a filter on
-- agent_id or stack_id into each branch, so lookups by either use the indexes.
CREATE VIEW agent_stack_associations AS
    SELECT t.agent_id, t.stack_id FROM agent_targets t
    UNION
    SELECT al.agent_id, sl.stack_id
      FROM agent_labels al
      JOIN stack_labels sl ON sl.label = al.label
      JOIN stacks s ON s.id = sl.stack_id
      JOIN agent_generator_registrations r ON r.agent_id = al.agent_id AND r.generator_id = s.generator_id
    UNION
    SELECT aa.agent_id, sa.stack_id
      FROM agent_annotations aa
      JOIN stack_annotations sa ON sa.key = aa.key AND sa.value = aa.value
      JOIN stacks s ON s.id = sa.stack_id
      JOIN agent_generator_registrations r ON r.agent_id = aa.agent_id AND r.generator_id = s.generator_id;
