// Payloads shared by the bench scripts and their child processes (which must not load the broker).
export const yaml2k = (i: number) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench-${i}\ndata:\n  payload: "${"x".repeat(1900)}"\n`;
