import { Badge, Code, Group, NativeSelect, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { ErrorText, Pager, usePaged, when } from "./paged.js";
import { VirtualTable } from "./virtual-table.js";

const TEMPLATES = `query($filter: StackTemplateFilter, $after: String) {
  stackTemplates(filter: $filter, first: 100, after: $after) {
  edges { node { id name description version generatorId checksum templateContent parametersSchema
    labels annotations { key value } createdAt } }
  pageInfo { hasNextPage endCursor } } }`;

interface Template {
  id: string;
  name: string;
  description: string | null;
  version: number;
  generatorId: string | null;
  checksum: string;
  templateContent: string;
  parametersSchema: string;
  labels: string[];
  annotations: { key: string; value: string }[];
  createdAt: string;
}

const COLUMNS = ["Template", "Version", "Owner", "Requires", "Checksum", "Created"];

/** A native disclosure: keyboard and screen readers handle it without any script. */
function Source({ t }: { t: Template }) {
  return (
    <details>
      <summary>
        {t.name} v{t.version}
      </summary>
      <Text size="sm" fw={500} mt="xs">
        Template
      </Text>
      <pre className="template-source">{t.templateContent}</pre>
      <Text size="sm" fw={500}>
        Parameters schema
      </Text>
      <pre className="template-source">{t.parametersSchema}</pre>
    </details>
  );
}

/** Every version of every template the key may read, by name then version, 100 a page. */
export function TemplatesPage() {
  const [owner, setOwner] = useState("");
  const filter = owner ? { system: owner === "system" } : null;
  const paged = usePaged<Template>(TEMPLATES, "stackTemplates", { filter });
  return (
    <Stack>
      <Title order={2}>Templates</Title>
      <Text size="sm">Updating a template makes a new version with its own id; old versions stay usable.</Text>
      <NativeSelect
        label="Owner"
        w={200}
        value={owner}
        onChange={(e) => setOwner(e.currentTarget.value)}
        data={[
          { value: "", label: "any" },
          { value: "system", label: "system" },
          { value: "generator", label: "a generator" },
        ]}
      />
      <ErrorText error={paged.error} />
      <VirtualTable
        label="Stack templates"
        striped
        columns={COLUMNS}
        rows={paged.nodes}
        rowKey={(t) => t.id}
        rowData={(t) => ({ "data-template-id": t.id })}
        cells={(t) => (
          <>
            <Table.Td title={t.description ?? undefined}>
              <Source t={t} />
            </Table.Td>
            <Table.Td>{t.version}</Table.Td>
            <Table.Td>{t.generatorId ? <Code>{t.generatorId.slice(0, 8)}</Code> : "system"}</Table.Td>
            <Table.Td>
              <Group gap={4}>
                {t.labels.map((l) => (
                  <Badge key={l} variant="outline" size="sm">
                    {l}
                  </Badge>
                ))}
                {t.annotations.map((a) => (
                  <Badge key={a.key} variant="dot" size="sm">
                    {a.key}={a.value}
                  </Badge>
                ))}
              </Group>
            </Table.Td>
            <Table.Td>
              <Code>{t.checksum.slice(0, 12)}</Code>
            </Table.Td>
            <Table.Td>{when(t.createdAt)}</Table.Td>
          </>
        )}
      />
      <Pager paged={paged} what="stack templates" />
    </Stack>
  );
}
