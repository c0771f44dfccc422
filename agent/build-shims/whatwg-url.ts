// Bundled in place of whatwg-url (agent/build.ts). Its one importer in the agent, node-fetch 2
// inside @kubernetes/client-node, takes it only when Node has no URL of its own
// (`Url.URL || whatwgUrl.URL`), and Node 20 always has one; loading the real package builds
// tr46's Unicode tables, ~4 MB of the idle agent's RSS (npm run bench:agent-memory).
export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;
export default { URL, URLSearchParams };
