import { describe, expect, it } from "vitest";
import { deploymentHealthEntries } from "./health-report.ts";

describe("deploymentHealthEntries", () => {
  const checkedAt = new Date("2025-01-02T03:04:05.000Z");

  it("keys each applied stack's health by its deployment object and counts a stack without pods as healthy", () => {
    const stacks = [
      {
        stackId: "stack-a",
        state: "degraded" as const,
        pods: [
          { namespace: "apps", name: "web-1", state: "degraded" as const, reasons: ["app: CrashLoopBackOff"] },
          { namespace: "apps", name: "web-2", state: "healthy" as const, reasons: [] },
        ],
      },
      { stackId: "not-applied", state: "failing" as const, pods: [] },
    ];
    const applied = new Map([
      ["stack-b", "do-2"],
      ["stack-a", "do-1"],
    ]);
    expect(deploymentHealthEntries(stacks, applied, checkedAt)).toEqual([
      {
        id: "do-1",
        status: "degraded",
        summary: { pods_total: 2, pods_unhealthy: 1, conditions: ["apps/web-1 app: CrashLoopBackOff"] },
        checked_at: "2025-01-02T03:04:05.000Z",
      },
      {
        id: "do-2",
        status: "healthy",
        summary: { pods_total: 0, pods_unhealthy: 0, conditions: [] },
        checked_at: "2025-01-02T03:04:05.000Z",
      },
    ]);
  });
});
