import type { TestBroker } from "./broker.js";
import { ok } from "./broker.js";
import { unique, type AnnotationInput } from "./factories.js";

/** A ConfigMap template with one required string parameter `name` and an optional integer `replicas`. */
export const CONFIGMAP_TEMPLATE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ name }}
data:
  replicas: "{{ replicas | default(1) }}"
`;

export const NAME_SCHEMA = JSON.stringify({
  type: "object",
  properties: { name: { type: "string", pattern: "^[a-z][a-z0-9-]*$" }, replicas: { type: "integer", minimum: 1 } },
  required: ["name"],
  additionalProperties: false,
});

export const TEMPLATE_FIELDS =
  "id name version generatorId checksum templateContent parametersSchema labels annotations { key value }";

export const CREATE_TEMPLATE = `mutation($input: CreateStackTemplateInput!) {
  createStackTemplate(input: $input) { stackTemplate { ${TEMPLATE_FIELDS} } } }`;

export const INSTANTIATE = `mutation($input: InstantiateStackTemplateInput!) {
  instantiateStackTemplate(input: $input) { deploymentObject { id yamlContent
    provenance { templateId templateName templateVersion parameters template { id name version } } } } }`;

export interface TemplateOptions {
  name?: string;
  templateContent?: string;
  parametersSchema?: string;
  labels?: string[];
  annotations?: AnnotationInput[];
}

export async function createTemplate(broker: TestBroker, pak: string, opts: TemplateOptions = {}) {
  const input = {
    name: opts.name ?? unique("tpl"),
    templateContent: opts.templateContent ?? CONFIGMAP_TEMPLATE,
    parametersSchema: opts.parametersSchema ?? NAME_SCHEMA,
    labels: opts.labels ?? [],
    annotations: opts.annotations ?? [],
  };
  const data = ok(
    await broker.gql<{ createStackTemplate: { stackTemplate: { id: string; name: string; version: number } } }>(
      CREATE_TEMPLATE,
      { input },
      pak,
    ),
  );
  return data.createStackTemplate.stackTemplate;
}

export function instantiate(broker: TestBroker, pak: string, stackId: string, templateId: string, parameters: unknown) {
  return broker.gql<{
    instantiateStackTemplate: {
      deploymentObject: {
        id: string;
        yamlContent: string;
        provenance: {
          templateId: string;
          templateName: string;
          templateVersion: number;
          parameters: unknown;
          template: { id: string; name: string; version: number } | null;
        } | null;
      };
    };
  }>(INSTANTIATE, { input: { stackId, templateId, parameters } }, pak);
}
