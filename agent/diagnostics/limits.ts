/**
 * Bounds of one diagnostics collection, so a large workload cannot make the agent read, or send,
 * more than the broker accepts (1 MiB per result field). Worst case of log text: 10 pods × 4
 * containers × 8 KiB = 320 KiB before JSON escaping; the serialiser drops whole tails from the
 * end if the escaped text would still pass LOG_TAILS_BUDGET_BYTES.
 */
export const DIAGNOSTIC_LIMITS = {
  /** Workload objects (Deployments, Jobs, Pods …) considered per request. */
  resources: 100,
  /** Pods whose status is reported (by namespace and name). */
  pods: 20,
  /** Pods whose containers' logs are tailed (the first of the reported ones). */
  logPods: 10,
  /** Containers per pod whose logs are tailed (init containers are not). */
  containersPerPod: 4,
  /** `tailLines` of each log request. */
  logLines: 100,
  /** `limitBytes` of each log request. */
  logBytesPerContainer: 8 * 1024,
  /** Namespaces whose events are read. */
  eventNamespaces: 10,
  /** Events read per namespace (pages of 500) before filtering to the object's resources. */
  eventsScanned: 1000,
  /** Events reported, newest first. */
  events: 50,
  /** Characters kept of one event message or status message. */
  messageChars: 1024,
  /** The escaped JSON of all log tails together. */
  logTailsBudgetBytes: 900 * 1024,
} as const;
