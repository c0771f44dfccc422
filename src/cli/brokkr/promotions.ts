import type { Command } from "commander";
import type { BrokerClient } from "./client.js";
import { printObject, printRows } from "./output.js";
import { resolveNamed } from "./releases.js";
import { CliError } from "./session.js";

type Ctx = { client: () => BrokerClient; json: () => boolean };

export const PROMOTION_FIELDS = `id status requestedAt completedAt
  release { id name } targetEnvironment { id name requiredApprovals }
  gates { name passed detail }
  approvals { action comment approver { name } createdAt }
  job { id status strategy currentBatch batchCount tasks { status batchIndex message agent { id name clusterName } } }`;

export interface PromotionView {
  id: string;
  status: string;
  release: { name: string };
  targetEnvironment: { name: string };
  gates: { name: string; passed: boolean; detail: string }[];
  approvals: { action: string; comment: string | null; approver: { name: string } }[];
  job: {
    status: string;
    currentBatch: number;
    batchCount: number;
    tasks: { status: string; batchIndex: number; message: string | null; agent: { name: string; clusterName: string } }[];
  } | null;
}

/** Where a promotion can go no further: the gate's exit code (0 deployed, 3 anything else final). */
const FINAL: Record<string, number> = { DEPLOYED: 0, FAILED: 3, REJECTED: 3, ROLLED_BACK: 3 };

export function taskRows(p: PromotionView) {
  return (p.job?.tasks ?? []).map((t) => ({
    clusterName: t.agent.clusterName,
    agent: t.agent.name,
    batch: t.batchIndex,
    status: t.status,
    message: t.message,
  }));
}

function printPromotion(p: PromotionView, json: boolean) {
  if (json) return printObject(p, true);
  const approvals = p.approvals.map((a) => `${a.action} by ${a.approver.name}${a.comment ? ` (${a.comment})` : ""}`);
  printObject({ id: p.id, release: p.release.name, environment: p.targetEnvironment.name, status: p.status, approvals }, false);
  printRows(p.gates, ["name", "passed", "detail"], false);
  if (p.job) printRows(taskRows(p), ["clusterName", "agent", "batch", "status", "message"], false);
}

async function readPromotion(client: BrokerClient, id: string): Promise<PromotionView> {
  const { promotion } = await client.query<{ promotion: PromotionView | null }>(
    `query($id: ID!) { promotion(id: $id) { ${PROMOTION_FIELDS} } }`,
    { id },
  );
  if (!promotion) throw new CliError(`promotion ${id} not found`);
  return promotion;
}

/** Subscribes first, then reads once (so no change between the read and the stream is missed). */
export async function waitForPromotion(client: BrokerClient, id: string, timeoutMs: number) {
  let latest: PromotionView | undefined;
  const sub = client.subscribe<{ promotionProgress: PromotionView }>(
    `subscription($id: ID!) { promotionProgress(promotionId: $id) { ${PROMOTION_FIELDS} } }`,
    { id },
    (data) => {
      latest = data.promotionProgress;
      return latest.status in FINAL;
    },
  );
  const timer = setTimeout(() => sub.stop(), timeoutMs);
  try {
    await sub.connected;
    const first = await readPromotion(client, id);
    if (!latest) latest = first;
    if (first.status in FINAL) {
      latest = first;
      sub.stop();
    }
    await sub.done;
  } finally {
    clearTimeout(timer);
    sub.stop();
  }
  const view = latest as PromotionView;
  return { promotion: view, timedOut: !(view.status in FINAL) };
}

async function decide(ctx: Ctx, mutation: "approvePromotion" | "rejectPromotion", id: string, comment?: string) {
  const input = mutation === "approvePromotion" ? "ApprovePromotionInput" : "RejectPromotionInput";
  const data = await ctx
    .client()
    .query<Record<string, { promotion: PromotionView }>>(
      `mutation($input: ${input}!) { ${mutation}(input: $input) { promotion { ${PROMOTION_FIELDS} } } }`,
      { input: { promotionId: id, comment } },
    );
  printPromotion((data[mutation] as { promotion: PromotionView }).promotion, ctx.json());
}

export function registerPromotionCommands(program: Command, ctx: Ctx): void {
  const { client, json } = ctx;
  program
    .command("promote <release> <environment>")
    .description("request a promotion; refused with the failing gate named")
    .action(async (releaseRef: string, envRef: string) => {
      const release = await resolveNamed(client(), "releases", releaseRef, "release");
      const environment = await resolveNamed(client(), "environments", envRef, "environment");
      const { requestPromotion } = await client().query<{ requestPromotion: { promotion: PromotionView } }>(
        `mutation($input: RequestPromotionInput!) { requestPromotion(input: $input) { promotion { ${PROMOTION_FIELDS} } } }`,
        { input: { releaseId: release.id, environmentId: environment.id } },
      );
      printPromotion(requestPromotion.promotion, json());
    });
  program
    .command("approve <promotion>")
    .option("--comment <text>")
    .action((id: string, opts: { comment?: string }) => decide(ctx, "approvePromotion", id, opts.comment));
  program
    .command("reject <promotion>")
    .requiredOption("--comment <text>", "why (recorded in the evidence)")
    .action((id: string, opts: { comment: string }) => decide(ctx, "rejectPromotion", id, opts.comment));
  program
    .command("rollback <promotion>")
    .description("re-deliver the release this promotion replaced")
    .action(async (id: string) => {
      const { rollbackPromotion } = await client().query<{ rollbackPromotion: { promotion: PromotionView } }>(
        `mutation($input: RollbackPromotionInput!) { rollbackPromotion(input: $input) { promotion { ${PROMOTION_FIELDS} } } }`,
        { input: { promotionId: id } },
      );
      printPromotion(rollbackPromotion.promotion, json());
    });

  const promotion = program.command("promotion").description("one promotion: gates, approvals, rollout");
  promotion.command("show <id>").action(async (id: string) => printPromotion(await readPromotion(client(), id), json()));
  promotion
    .command("wait <id>")
    .description("exit 0 once the promotion is DEPLOYED; 3 when it failed, was rejected or rolled back, or timed out")
    .option("--timeout <seconds>", "give up after this many seconds", "600")
    .action(async (id: string, opts: { timeout: string }) => {
      const seconds = Number(opts.timeout);
      if (!Number.isFinite(seconds) || seconds < 0) throw new CliError(`--timeout ${opts.timeout}: expected seconds`, 2);
      const { promotion: p, timedOut } = await waitForPromotion(client(), id, seconds * 1000);
      printPromotion(p, json());
      if (p.status === "DEPLOYED") return;
      throw new CliError(
        timedOut ? `promotion ${id} is still ${p.status} after ${seconds}s` : `promotion ${id} ended ${p.status}`,
        3,
      );
    });
}
