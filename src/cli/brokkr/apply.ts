import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import type { BrokerClient } from "./client.js";
import { CliError } from "./session.js";

export interface ApplyOptions {
  labels: string[];
  annotations: { key: string; value: string }[];
  /** The owning generator, when the caller is the admin. */
  generatorId?: string;
}

export interface ApplyResult {
  stack: { id: string; name: string };
  result: "created" | "updated" | "unchanged";
  deploymentObject: { id: string; sequenceId: string; yamlChecksum: string };
}

const STACK = "id name labels annotations { key value } latestDeploymentObject { id sequenceId yamlChecksum }";
type StackNode = {
  id: string;
  name: string;
  labels: string[];
  annotations: { key: string; value: string }[];
  latestDeploymentObject: ApplyResult["deploymentObject"] | null;
};

/** The YAML of a file, or of a folder's *.yaml / *.yml files in name order, as one multi-document stream. */
export function readManifests(target: string): string {
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (!stat) throw new CliError(`${target}: no such file or folder`);
  const files = stat.isDirectory()
    ? fs
        .readdirSync(target, { recursive: true, encoding: "utf8" })
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => path.join(target, f))
    : [target];
  if (files.length === 0) throw new CliError(`${target}: no .yaml or .yml files`);
  const parts = files.map((file) => {
    const text = fs.readFileSync(file, "utf8");
    // Refuse locally with the file's own line and column rather than the broker's offset in the join.
    const broken = parseAllDocuments(text).flatMap((d) => ("errors" in d ? d.errors : []));
    if (broken[0]) throw new CliError(`${file}: ${broken[0].message.split("\n")[0]}`);
    return text.trim();
  });
  return `${parts.join("\n---\n")}\n`;
}

/** Brokkr SDK's apply: create the stack if needed, then a new object unless the content is unchanged. */
export async function applyManifests(
  client: BrokerClient,
  stackName: string,
  yaml: string,
  opts: ApplyOptions,
): Promise<ApplyResult> {
  const stacks = await client.all<StackNode>(
    `query($after: String) { stacks(first: 100, after: $after) { edges { node { ${STACK} } } pageInfo { hasNextPage endCursor } } }`,
    "stacks",
  );
  let stack = stacks.find((s) => s.name === stackName || s.id === stackName);
  let created = false;
  if (!stack) {
    const data = await client.query<{ createStack: { stack: StackNode } }>(
      `mutation($input: CreateStackInput!) { createStack(input: $input) { stack { ${STACK} } } }`,
      { input: { name: stackName, labels: opts.labels, annotations: opts.annotations, generatorId: opts.generatorId } },
    );
    stack = data.createStack.stack;
    created = true;
  } else {
    await addMissingMetadata(client, stack, opts);
  }
  const checksum = createHash("sha256").update(yaml).digest("hex");
  const latest = stack.latestDeploymentObject;
  if (latest && latest.yamlChecksum === checksum) return { stack, result: "unchanged", deploymentObject: latest };
  const data = await client.query<{ createDeploymentObject: { deploymentObject: ApplyResult["deploymentObject"] } }>(
    `mutation($input: CreateDeploymentObjectInput!) { createDeploymentObject(input: $input) { deploymentObject { id sequenceId yamlChecksum } } }`,
    { input: { stackId: stack.id, yamlContent: yaml } },
  );
  return {
    stack,
    result: created || !latest ? "created" : "updated",
    deploymentObject: data.createDeploymentObject.deploymentObject,
  };
}

async function addMissingMetadata(client: BrokerClient, stack: StackNode, opts: ApplyOptions) {
  for (const label of opts.labels.filter((l) => !stack.labels.includes(l))) {
    await client.query(`mutation($input: StackLabelInput!) { addStackLabel(input: $input) { stack { id } } }`, {
      input: { stackId: stack.id, label },
    });
  }
  for (const a of opts.annotations.filter((a) => !stack.annotations.some((s) => s.key === a.key && s.value === a.value))) {
    await client.query(`mutation($input: SetStackAnnotationInput!) { setStackAnnotation(input: $input) { stack { id } } }`, {
      input: { stackId: stack.id, key: a.key, value: a.value },
    });
  }
}
