import { parseAllDocuments } from "yaml";

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export class ManifestError extends Error {
  override name = "ManifestError";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkDocument(value: unknown, index: number): Manifest {
  const where = `document ${index + 1}`;
  if (!isRecord(value))
    throw new ManifestError(`${where}: expected a mapping, got ${Array.isArray(value) ? "a sequence" : typeof value}`);
  if (typeof value.apiVersion !== "string" || value.apiVersion === "")
    throw new ManifestError(`${where}: apiVersion is required`);
  if (typeof value.kind !== "string" || value.kind === "") throw new ManifestError(`${where}: kind is required`);
  const metadata = value.metadata;
  if (!isRecord(metadata) || typeof metadata.name !== "string" || metadata.name === "") {
    throw new ManifestError(`${where} (${value.kind}): metadata.name is required`);
  }
  // The checks above are Manifest's required fields; the rest of it is free-form.
  return value as Manifest;
}

/**
 * Parses multi-document YAML. Empty documents are skipped; any bad document fails the whole
 * object with the parser's message, which names the line and column.
 */
export function parseManifests(content: string): Manifest[] {
  const docs = parseAllDocuments(content, { prettyErrors: true });
  if (!Array.isArray(docs)) return [];
  const manifests: Manifest[] = [];
  docs.forEach((doc, index) => {
    const error = doc.errors[0];
    if (error) throw new ManifestError(`document ${index + 1}: ${error.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    manifests.push(checkDocument(value, index));
  });
  return manifests;
}

export function isNamespace(m: { apiVersion?: string; kind?: string }): boolean {
  return m.kind === "Namespace" && m.apiVersion === "v1";
}

export function isCrd(m: { apiVersion?: string; kind?: string }): boolean {
  return m.kind === "CustomResourceDefinition" && (m.apiVersion ?? "").startsWith("apiextensions.k8s.io/");
}

function rank(m: { apiVersion?: string; kind?: string }): number {
  if (isNamespace(m)) return 0;
  if (isCrd(m)) return 1;
  return 2;
}

/** Namespaces, then CRDs, then everything else; stable within each group. */
export function orderForApply<T extends { apiVersion?: string; kind?: string }>(items: T[]): T[] {
  return items
    .map((m, i) => ({ m, i }))
    .sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i)
    .map((x) => x.m);
}

/** The reverse: dependents first, so a namespace or CRD goes last. */
export function orderForDelete<T extends { apiVersion?: string; kind?: string }>(items: T[]): T[] {
  return items
    .map((m, i) => ({ m, i }))
    .sort((a, b) => rank(b.m) - rank(a.m) || a.i - b.i)
    .map((x) => x.m);
}

export function objectKey(m: { kind?: string; metadata?: { namespace?: string; name?: string } }): string {
  return `${m.kind}/${m.metadata?.namespace ?? ""}/${m.metadata?.name}`;
}
