-- Why a stack reaches an agent (Stack.reachedAgents: explicit target, shared label, shared
-- annotation). The rule stays defined once: agent_stack_associations is now the distinct pairs of
-- this view, with the same joins as in 0005 (consent for generator-made targets, labels and
-- annotations only from generators the agent is registered with). The planner pushes a filter
-- on agent_id or stack_id into every branch, as it did through the UNION before.
CREATE VIEW agent_stack_association_reasons AS
    SELECT t.agent_id, t.stack_id, 'EXPLICIT'::text AS reason FROM agent_targets t
     WHERE NOT t.requires_registration
    UNION ALL
    SELECT t.agent_id, t.stack_id, 'EXPLICIT'
      FROM agent_targets t
      JOIN stacks s ON s.id = t.stack_id
      JOIN agent_generator_registrations r ON r.agent_id = t.agent_id AND r.generator_id = s.generator_id
     WHERE t.requires_registration
    UNION ALL
    SELECT al.agent_id, sl.stack_id, 'LABEL'
      FROM agent_labels al
      JOIN stack_labels sl ON sl.label = al.label
      JOIN stacks s ON s.id = sl.stack_id
      JOIN agent_generator_registrations r ON r.agent_id = al.agent_id AND r.generator_id = s.generator_id
    UNION ALL
    SELECT aa.agent_id, sa.stack_id, 'ANNOTATION'
      FROM agent_annotations aa
      JOIN stack_annotations sa ON sa.key = aa.key AND sa.value = aa.value
      JOIN stacks s ON s.id = sa.stack_id
      JOIN agent_generator_registrations r ON r.agent_id = aa.agent_id AND r.generator_id = s.generator_id;

CREATE OR REPLACE VIEW agent_stack_associations AS
    SELECT DISTINCT agent_id, stack_id FROM agent_stack_association_reasons;
