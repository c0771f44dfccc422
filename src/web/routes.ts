import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Express, type Response } from "express";

// Built by `npm run build:web` (Vite) into dist/web; npm start and npm test build it first.
const WEB_DIR = fileURLToPath(new URL("../../dist/web", import.meta.url));
const EXPLORER = path.join(WEB_DIR, "explorer", "index.html");
const CONSOLE = path.join(WEB_DIR, "console", "index.html");

/** True when a browser navigates here (it asks for HTML); API clients ask for JSON. */
const wantsHtml = (accept: string | undefined) => !!accept && accept.includes("text/html");

/**
 * The offline GraphQL explorer (GraphiQL from npm, bundled) at `GET /graphql` from a browser, and
 * the operator console at `/`; their assets under `/ui/`. Registered before the GraphQL middleware so Apollo never answers a browser
 * with its CDN-loaded landing page.
 */
export function mountWebRoutes(app: Express): void {
  app.use("/ui", express.static(WEB_DIR, { index: false, immutable: true, maxAge: "1y" }));
  app.get("/graphql", (req, res, next) => {
    if (!wantsHtml(req.headers.accept)) return next();
    sendPage(res, EXPLORER, "explorer");
  });
  // The operator console: one page, its views behind hash routes (#/fleet, #/stacks/<id>).
  app.get("/", (_req, res) => sendPage(res, CONSOLE, "console"));
}

function sendPage(res: Response, file: string, what: string): void {
  if (!fs.existsSync(file)) {
    res.status(503).type("text/plain").send(`The ${what} is not built: run \`npm run build:web\`.\n`);
    return;
  }
  // index.html must not be cached: it names the hashed asset files of the current build.
  res.setHeader("cache-control", "no-cache");
  res.sendFile(file);
}
