import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Runs the agent's and the fake API server's tests alone, without the broker's database setup.
export default defineConfig({
  root: fileURLToPath(new URL("..", import.meta.url)),
  test: {
    include: ["agent/**/*.test.ts", "test/fake-kube/**/*.test.ts"],
    testTimeout: 30_000,
  },
});
