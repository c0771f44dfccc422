import type pg from "pg";

export interface DomainEvent {
  event_type: string;
  agent_id: string | null;
  stack_id: string | null;
  data: Record<string, unknown>;
}

/** Reads the outbox (domain_events) around plain-SQL writes, for the trigger tests. */
export function outboxProbe(sql: pg.Pool) {
  const q = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await sql.query(text, params)).rows as T[];
  const one = async (text: string, params: unknown[] = []) => ((await q<{ id: string }>(text, params))[0] as { id: string }).id;
  /** The events recorded while `fn` ran, oldest first. */
  const eventsDuring = async (fn: () => Promise<unknown>): Promise<DomainEvent[]> => {
    const max = (await q<{ max: string }>("SELECT coalesce(max(seq), 0) AS max FROM domain_events"))[0]?.max;
    await fn();
    return q<DomainEvent>("SELECT event_type, agent_id, stack_id, data FROM domain_events WHERE seq > $1 ORDER BY seq", [max]);
  };
  const types = (events: DomainEvent[]) => events.map((e) => e.event_type);
  return { q, one, eventsDuring, types };
}
