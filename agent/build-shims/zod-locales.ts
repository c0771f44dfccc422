// Bundled in place of zod's `z.locales` and `z.core.locales` (agent/build.ts), which hold all of zod's
// ~50 locales, 260 KB of the agent's bundle; the agent uses none of them. English, its only
// language, is registered by zod's own schemas module, which imports it directly.
export { default as en } from "zod/v4/locales/en.js";
