import { useEffect, useState } from "react";

/** Hash routes (`#/fleet`, `#/agents/<id>`): the broker serves one page at `/`, nothing else to configure. */
export type Route =
  | { page: "overview" }
  | { page: "fleet" }
  | { page: "stacks" }
  | { page: "stack"; id: string }
  | { page: "agent"; id: string }
  | { page: "work-orders" }
  | { page: "webhooks" }
  | { page: "audit" }
  | { page: "templates" }
  | { page: "diagnostics" }
  | { page: "releases" }
  | { page: "promotion"; id: string };

const PLAIN = ["work-orders", "webhooks", "audit", "templates", "diagnostics", "releases"] as const;

export function parseRoute(hash: string): Route {
  const [, page, id] = hash.replace(/^#/, "").split("/");
  if (page === "fleet") return { page: "fleet" };
  const plain = PLAIN.find((p) => p === page);
  if (plain) return { page: plain };
  if (page === "stacks" && id) return { page: "stack", id: decodeURIComponent(id) };
  if (page === "stacks") return { page: "stacks" };
  if (page === "agents" && id) return { page: "agent", id: decodeURIComponent(id) };
  if (page === "promotions" && id) return { page: "promotion", id: decodeURIComponent(id) };
  return { page: "overview" };
}

export const href = {
  overview: "#/overview",
  fleet: "#/fleet",
  stacks: "#/stacks",
  stack: (id: string) => `#/stacks/${encodeURIComponent(id)}`,
  agent: (id: string) => `#/agents/${encodeURIComponent(id)}`,
  workOrders: "#/work-orders",
  webhooks: "#/webhooks",
  audit: "#/audit",
  templates: "#/templates",
  diagnostics: "#/diagnostics",
  releases: "#/releases",
  promotion: (id: string) => `#/promotions/${encodeURIComponent(id)}`,
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
