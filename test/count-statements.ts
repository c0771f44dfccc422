import pg from "pg";

/**
 * Counts the statements the broker's own pool sends while `fn` runs: Prisma's pg adapter runs
 * plain queries through pool.query and transactions through a checked-out client, both of which
 * end in Client#query; the broker's pool connects as application_name "brokkr-broker". The
 * delivery hub's once-a-second horizon read (and a batched NOTIFY) and the rollout runner's polls
 * (src/rollouts POLL_TAG) run on their own clock and are not counted.
 */
const BACKGROUND = /brokkr_delivery_horizon|^NOTIFY |brokkr:rollouts-poll/;

export async function countBrokerStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const original = pg.Client.prototype.query;
  let statements = 0;
  pg.Client.prototype.query = function (
    this: pg.Client & { connectionParameters?: { application_name?: string } },
    ...args: unknown[]
  ) {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === "string" ? first : (first?.text ?? "");
    if (this.connectionParameters?.application_name === "brokkr-broker" && !BACKGROUND.test(text)) statements++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    const result = await fn();
    return { result, statements };
  } finally {
    pg.Client.prototype.query = original;
  }
}
