import type { Logger } from "pino";
import type { AgentObjectApi } from "./client.ts";
import type { KindRef } from "./kinds.ts";
import type { LiveObject } from "./ownership.ts";
import { type RetryOptions, isNotFound, statusCodeOf, withTransientRetry } from "./retry.ts";

/** Objects per LIST request, so a kind with many objects is read page by page. */
export const PAGE_SIZE = 500;

export interface ListDeps {
  objects: AgentObjectApi;
  retry: RetryOptions;
  logger: Logger;
  /** Objects per page (default PAGE_SIZE). */
  pageSize?: number;
}

/**
 * Every object of one kind matching `selector`, across namespaces, paged by `limit`/`continue`;
 * `onPage` sees each page (so a caller may keep only what it needs). A kind the cluster does not
 * serve, or that RBAC does not let it list, yields nothing: objects it may not list it did not create.
 */
export async function listKind(
  deps: ListDeps,
  ref: KindRef,
  selector: string,
  onPage: (items: LiveObject[]) => Promise<void> | void,
): Promise<void> {
  let token: string | undefined;
  do {
    let list;
    try {
      list = await withTransientRetry(
        () =>
          deps.objects.list(
            ref.apiVersion,
            ref.kind,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            selector,
            deps.pageSize ?? PAGE_SIZE,
            token,
          ),
        deps.retry,
      );
    } catch (err) {
      if (isUnlistable(err)) {
        if (statusCodeOf(err) === 403)
          deps.logger.debug({ apiVersion: ref.apiVersion, kind: ref.kind }, "may not list this kind; skipped");
        return;
      }
      throw err;
    }
    // Typed lists leave kind and apiVersion off their items.
    await onPage(list.items.map((item) => ({ ...item, apiVersion: ref.apiVersion, kind: ref.kind })));
    token = list.metadata?.continue || undefined;
  } while (token);
}

function isUnlistable(err: unknown): boolean {
  if (statusCodeOf(err) === undefined && /Unrecognized API version and kind/.test(String(err))) return true;
  return isNotFound(err) || statusCodeOf(err) === 403;
}
