import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The broker serves what this builds from dist/web under /ui/; everything is bundled, nothing is
// fetched from a CDN at run time, so the pages work offline and air-gapped.
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here("."),
  base: "/ui/",
  plugins: [react()],
  // GraphiQL's "use no memo" directives make the bundler warn on every build; errors still show.
  logLevel: "error",
  build: {
    outDir: here("../dist/web"),
    emptyOutDir: true,
    chunkSizeWarningLimit: 8000,
    rollupOptions: { input: { explorer: here("explorer/index.html"), console: here("console/index.html") } },
  },
});
