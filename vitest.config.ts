import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

// Vite would resolve "graphql" to its ESM build while Apollo, graphql-ws and graphql-tools load
// the CommonJS one under Node: two copies, and "Cannot use GraphQLSchema from another module".
// Tests use the copy production uses.
const graphqlMain = createRequire(import.meta.url).resolve("graphql");

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlMain }] },
  test: {
    include: ["src/**/*.test.ts", "agent/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Each integration file gets its own database; files run in parallel on the two cores.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
