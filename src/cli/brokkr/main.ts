import { Command, Option } from "commander";
import { applyManifests, readManifests } from "./apply.js";
import { BrokerClient } from "./client.js";
import { printObject, printRows } from "./output.js";
import { CliError, loadSession, saveSession } from "./session.js";
import { FLEET_COLUMNS, FLEET_QUERY, fleetRow, type FleetNode } from "./fleet.js";
import { registerPromotionCommands } from "./promotions.js";
import { registerCatalogCommands } from "./releases.js";
import { resolveTarget, waitForRollout } from "./wait.js";
import { registerEvidenceCommands } from "./evidence.js";

const AGENT_ROW = "id name clusterName status lastHeartbeat labels";
const STACK_ROW = "id name labels latestDeploymentObject { sequenceId yamlChecksum }";
const collect = (value: string, previous: string[]) => [...previous, value];
const annotation = (value: string, previous: { key: string; value: string }[]) => {
  const at = value.indexOf("=");
  if (at < 1) throw new CliError(`--annotation ${value}: expected key=value`, 2);
  return [...previous, { key: value.slice(0, at), value: value.slice(at + 1) }];
};

export function buildProgram(): Command {
  const program = new Command("brokkr")
    .description("Brokkr-TS command line: the fleet, stacks and a rollout gate, over the broker's GraphQL API")
    .addOption(new Option("--json", "print JSON for scripts instead of tables"))
    .showHelpAfterError();
  const json = () => Boolean(program.opts().json);
  const client = () => new BrokerClient(loadSession());

  program
    .command("login")
    .description("check a PAK against a broker and remember both")
    .requiredOption("--url <url>", "broker URL, e.g. http://localhost:3000")
    .option("--pak <pak>", "the PAK (else BROKKR_PAK)")
    .action(async (opts: { url: string; pak?: string }) => {
      const pak = opts.pak ?? process.env.BROKKR_PAK;
      if (!pak) throw new CliError("login needs --pak or BROKKR_PAK", 2);
      const session = { url: opts.url.replace(/\/+$/, ""), pak };
      const { me } = await new BrokerClient(session).query<{ me: { role: string; id: string | null } }>("{ me { role id } }");
      const file = saveSession(session);
      printObject({ role: me.role, id: me.id, saved: file }, json());
    });

  program
    .command("whoami")
    .description("the identity behind the stored PAK")
    .action(async () => {
      printObject((await client().query<{ me: object }>("{ me { role id } }")).me, json());
    });

  program
    .command("agents")
    .description("list agents (admin)")
    .option("--label <label>", "only agents with this label (repeatable)", collect, [])
    .action(async (opts: { label: string[] }) => {
      const rows = await client().all<Record<string, unknown>>(
        `query($after: String, $labels: [String!]) { agents(first: 100, after: $after, filter: { labels: $labels }) { edges { node { ${AGENT_ROW} } } pageInfo { hasNextPage endCursor } } }`,
        "agents",
        { labels: opts.label.length ? opts.label : null },
      );
      printRows(rows, ["id", "name", "clusterName", "status", "lastHeartbeat", "labels"], json());
    });

  program
    .command("agent <id>")
    .description("one agent: status, labels, targets, recent events")
    .action(async (id: string) => {
      const { agent } = await client().query<{ agent: object | null }>(
        `query($id: ID!) { agent(id: $id) { ${AGENT_ROW} annotations { key value } k8sReachable targets { id name } events(first: 10) { edges { node { status eventType message createdAt deploymentObject { sequenceId } } } } } }`,
        { id },
      );
      if (!agent) throw new CliError(`agent ${id} not found`);
      printObject(agent, json());
    });

  program
    .command("stacks")
    .description("list stacks you can see")
    .option("--label <label>", "only stacks with this label (repeatable)", collect, [])
    .action(async (opts: { label: string[] }) => {
      const rows = await client().all<{ latestDeploymentObject: { sequenceId: string } | null } & Record<string, unknown>>(
        `query($after: String, $labels: [String!]) { stacks(first: 100, after: $after, filter: { labels: $labels }) { edges { node { ${STACK_ROW} } } pageInfo { hasNextPage endCursor } } }`,
        "stacks",
        { labels: opts.label.length ? opts.label : null },
      );
      printRows(
        rows.map((r) => ({ ...r, latest: r.latestDeploymentObject?.sequenceId ?? null })),
        ["id", "name", "labels", "latest"],
        json(),
      );
    });

  program
    .command("stack <id>")
    .description("one stack and its latest objects")
    .action(async (id: string) => {
      const { stack } = await client().query<{ stack: object | null }>(
        `query($id: ID!) { stack(id: $id) { id name description labels annotations { key value } targetedAgents { id name } deploymentObjects(first: 10) { edges { node { id sequenceId yamlChecksum isDeletionMarker submittedAt } } } } }`,
        { id },
      );
      if (!stack) throw new CliError(`stack ${id} not found`);
      printObject(stack, json());
    });

  program
    .command("apply <stack> <path>")
    .description("create the stack if needed and push the file or folder's YAML as a new object unless unchanged")
    .option("--label <label>", "stack label (repeatable)", collect, [])
    .option("--annotation <key=value>", "stack annotation (repeatable)", annotation, [])
    .option("--generator <id>", "owning generator (admin only)")
    .action(
      async (
        stackName: string,
        target: string,
        opts: { label: string[]; annotation: { key: string; value: string }[]; generator?: string },
      ) => {
        const result = await applyManifests(client(), stackName, readManifests(target), {
          labels: opts.label,
          annotations: opts.annotation,
          generatorId: opts.generator,
        });
        printObject(
          { result: result.result, stack: result.stack.name, stackId: result.stack.id, ...result.deploymentObject },
          json(),
        );
      },
    );

  program
    .command("wait <object-or-stack>")
    .description(
      "rollout gate: exit 0 once every receiving agent the stack reaches reported SUCCESS for the object (or a newer one), else 3",
    )
    .option("--timeout <seconds>", "give up after this many seconds", "300")
    .option("--agents <label>", "only agents carrying this label")
    .option("--fail-fast", "exit 3 as soon as every agent answered and one failed")
    .action(async (ref: string, opts: { timeout: string; agents?: string; failFast?: boolean }) => {
      const seconds = Number(opts.timeout);
      if (!Number.isFinite(seconds) || seconds < 0) throw new CliError(`--timeout ${opts.timeout}: expected seconds`, 2);
      const target = await resolveTarget(client(), ref);
      const result = await waitForRollout(client(), target, {
        timeoutMs: seconds * 1000,
        agentLabel: opts.agents,
        failFast: opts.failFast,
      });
      const agents = result.rollout.verdicts();
      const object = {
        id: target.objectId,
        sequenceId: String(target.sequenceId),
        stackId: target.stackId,
        stack: target.stackName,
      };
      if (json()) printObject({ ok: result.ok, timedOut: result.timedOut, object, agents }, true);
      else printRows(agents, ["clusterName", "name", "result", "sequenceId", "message"], false);
      if (agents.length === 0) process.stderr.write(`brokkr: no receiving agent is reached by stack ${target.stackName}\n`);
      if (!result.ok) {
        const count = (r: string) => agents.filter((a) => a.result === r).length;
        throw new CliError(
          `object ${target.sequenceId} of ${target.stackName} not applied everywhere: ${count("FAILED")} failed, ${count("NO ANSWER")} did not answer`,
          3,
        );
      }
    });

  program
    .command("fleet")
    .description("every agent: connection, heartbeat, Kubernetes, pending objects, last event, health (admin)")
    .option("--label <label>", "only agents with this label (repeatable)", collect, [])
    .action(async (opts: { label: string[] }) => {
      const nodes = await client().all<FleetNode>(FLEET_QUERY, "fleet", { labels: opts.label.length ? opts.label : null });
      printRows(json() ? nodes : nodes.map(fleetRow), json() ? [] : FLEET_COLUMNS, json());
    });

  registerEvidenceCommands(program, client);
  registerCatalogCommands(program, { client, json });
  registerPromotionCommands(program, { client, json });
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`brokkr: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`brokkr: ${(err as Error).message}\n`);
    return 1;
  }
}
