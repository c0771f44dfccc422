import { Badge } from "@mantine/core";
import type { FleetRow } from "./fleet-store.js";

const CONNECTION_COLOR = { WEBSOCKET: "green", REST: "blue", OFFLINE: "gray" } as const;

export function ConnectionBadge({ connection }: { connection: FleetRow["connection"] }) {
  return (
    <Badge color={CONNECTION_COLOR[connection]} variant="light" aria-label={`connection ${connection.toLowerCase()}`}>
      {connection}
    </Badge>
  );
}

export function ResultBadge({ status }: { status: "SUCCESS" | "FAILURE" | null | undefined }) {
  if (!status)
    return (
      <Badge color="gray" variant="outline">
        no report
      </Badge>
    );
  return (
    <Badge color={status === "SUCCESS" ? "green" : "red"} variant="filled">
      {status}
    </Badge>
  );
}

export function HealthText({ health }: { health: FleetRow["health"] }) {
  const parts = [
    health.failing ? `${health.failing} failing` : null,
    health.degraded ? `${health.degraded} degraded` : null,
    health.healthy ? `${health.healthy} healthy` : null,
    health.unknown ? `${health.unknown} unknown` : null,
  ].filter(Boolean);
  return <>{parts.length ? parts.join(", ") : "—"}</>;
}

export const age = (seconds: number | null) =>
  seconds === null
    ? "never"
    : seconds < 60
      ? `${seconds}s ago`
      : seconds < 3600
        ? `${Math.floor(seconds / 60)}m ago`
        : `${Math.floor(seconds / 3600)}h ago`;
