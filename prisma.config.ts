// Prisma CLI configuration (generate, migrate deploy/status/diff); the README's "Toolchain
// choices" says more.
// - engine "js" + a driver adapter: Prisma's native engines are downloaded from Prisma's own servers
//   at generate/migrate time, which fails on machines that reach only the npm registry (CI here,
//   air-gapped users). Prisma 6.19's JavaScript/WASM engines ship inside the npm packages and run
//   offline; Prisma 7's CLI still fetches schema-engine, so the project stays on Prisma 6.
// - @prisma/adapter-pg 7 with prisma/@prisma/client 6.19: adapter-pg 6.19 fails in `migrate deploy`
//   ("Column type 'name' could not be deserialized"); 7.x works with the 6.19 client and CLI.
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import type { PrismaConfig } from "prisma";

const DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/brokkr";
// schema.prisma names this variable for tooling; generate needs it set, not reachable.
process.env.BROKKR__DATABASE__URL ??= DEFAULT_URL;

/**
 * The pg adapter splits scripts on every ';', which breaks dollar-quoted PL/pgSQL bodies.
 * Send each migration script whole, in one simple-protocol query, instead.
 */
function wholeScriptAdapter(connectionString: string, schema: string | undefined) {
  const factory = new PrismaPg({ connectionString }, schema ? { schema } : {});
  const wrap = <T extends { executeScript(script: string): Promise<void> }>(
    adapter: T,
    run: (sql: string) => Promise<unknown>,
  ): T => {
    adapter.executeScript = async (script: string) => {
      await run(script);
    };
    return adapter;
  };
  return {
    provider: "postgres" as const,
    adapterName: factory.adapterName,
    async connect() {
      const adapter = await factory.connect();
      return wrap(adapter, (sql) => adapter.executeRaw({ sql, args: [], argTypes: [] }));
    },
    async connectToShadowDb() {
      const adapter = await factory.connectToShadowDb();
      return wrap(adapter, (sql) => adapter.executeRaw({ sql, args: [], argTypes: [] }));
    },
  };
}

export default {
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  // BROKKR__DATABASE__SCHEMA: the broker's own schema (src/db/schema-scope.ts); empty is public.
  adapter: async () =>
    wholeScriptAdapter(process.env.BROKKR__DATABASE__URL ?? DEFAULT_URL, process.env.BROKKR__DATABASE__SCHEMA || undefined),
} satisfies PrismaConfig;
