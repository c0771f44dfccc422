import { AppShell, Badge, Button, Group, NavLink, Text, Title } from "@mantine/core";
import { useEffect, useRef } from "react";
import type { Me } from "./api.js";
import { AgentPage } from "./agent-page.js";
import { AuditPage } from "./audit-page.js";
import { DiagnosticsPage } from "./diagnostics-page.js";
import type { FleetStore } from "./fleet-store.js";
import { FleetPage } from "./fleet-page.js";
import { OverviewPage } from "./overview-page.js";
import { PromotionPage } from "./promotion-page.js";
import { ReleasesPage } from "./releases-page.js";
import { href, type Route, useRoute } from "./route.js";
import { StackPage } from "./stack-page.js";
import { StacksPage } from "./stacks-page.js";
import { TemplatesPage } from "./templates-page.js";
import { WebhooksPage } from "./webhooks-page.js";
import { WorkOrdersPage } from "./work-orders-page.js";

const NAV = [
  { label: "Overview", href: href.overview, pages: ["overview"] },
  { label: "Fleet", href: href.fleet, pages: ["fleet", "agent"] },
  { label: "Stacks", href: href.stacks, pages: ["stacks", "stack"] },
  { label: "Releases", href: href.releases, pages: ["releases", "promotion"] },
  { label: "Templates", href: href.templates, pages: ["templates"] },
  { label: "Work orders", href: href.workOrders, pages: ["work-orders"] },
  { label: "Diagnostics", href: href.diagnostics, pages: ["diagnostics"] },
  { label: "Webhooks", href: href.webhooks, pages: ["webhooks"] },
  { label: "Audit log", href: href.audit, pages: ["audit"] },
];

function Page({ route, fleet }: { route: Route; fleet: FleetStore }) {
  switch (route.page) {
    case "fleet":
      return <FleetPage fleet={fleet} />;
    case "stacks":
      return <StacksPage />;
    case "stack":
      return <StackPage id={route.id} />;
    case "agent":
      return <AgentPage id={route.id} />;
    case "templates":
      return <TemplatesPage />;
    case "work-orders":
      return <WorkOrdersPage />;
    case "webhooks":
      return <WebhooksPage />;
    case "audit":
      return <AuditPage />;
    case "diagnostics":
      return <DiagnosticsPage />;
    case "releases":
      return <ReleasesPage />;
    case "promotion":
      return <PromotionPage id={route.id} />;
    default:
      return <OverviewPage fleet={fleet} />;
  }
}

export function Layout({ me, fleet, onSignOut }: { me: Me; fleet: FleetStore; onSignOut: () => void }) {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  // A new page moves focus to its content, as a full page load would for a screen reader.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every route change on purpose
  useEffect(() => main.current?.focus(), [route]);
  const who = me.user ? `${me.user.name} (${me.user.role})` : "admin key";
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 200, breakpoint: "xs" }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Title order={1} size="h4">
            Brokkr-TS
          </Title>
          <Group gap="sm">
            <Text size="sm" aria-label="Signed in as">
              {who}
            </Text>
            {me.user && me.user.role !== "ADMIN" && <Badge variant="light">read-only</Badge>}
            <Button size="xs" variant="default" onClick={onSignOut}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label="Console pages">
        {NAV.map((n) => (
          <NavLink
            key={n.label}
            href={n.href}
            label={n.label}
            active={n.pages.includes(route.page)}
            aria-current={n.pages.includes(route.page) ? "page" : undefined}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main ref={main} tabIndex={-1} style={{ outline: "none" }}>
        <Page route={route} fleet={fleet} />
      </AppShell.Main>
    </AppShell>
  );
}
