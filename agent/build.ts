// The shipped agent: one self-contained ESM bundle, dist/agent.mjs (npm run build:agent), which
// docker/Dockerfile.agent copies alone into its image. bench/agent-memory.ts bundles each import
// with these same options to say what it costs.
import { resolve } from "node:path";
import type { BuildOptions, Plugin } from "esbuild";

/** The node flags docker/Dockerfile.agent starts the bundle with (kept equal to its CMD). */
export const AGENT_RUN_FLAGS = ["--max-semi-space-size=1", "--max-old-space-size=128", "--single-threaded"];

/** zod's classic API and core import every locale for `z.locales` / `z.core.locales`; the bundle gets English only (see the shim). */
const zodEnglishOnly: Plugin = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)
        ? { path: resolve("agent/build-shims/zod-locales.ts") }
        : undefined,
    );
  },
};

export const agentBuildOptions: BuildOptions = {
  entryPoints: ["agent/main.ts"],
  outfile: "dist/agent.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  // Parsed source stays in V8's heap for the life of the process: minified, the idle agent is
  // ~25 MB smaller (bench:agent-memory). Names are kept, so errors and class names read the same.
  minify: true,
  keepNames: true,
  plugins: [zodEnglishOnly],
  // Some bundled CommonJS packages call require() for Node built-ins.
  banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const { build } = await import("esbuild");
  await build(agentBuildOptions);
}
