#!/usr/bin/env node
// `npx brokkr …`: runs the CLI's TypeScript through tsx (a run-time dependency of the broker).
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("../src/cli/brokkr/main.ts");
process.exitCode = await runCli(process.argv);
