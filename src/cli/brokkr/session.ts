import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Where `brokkr login` keeps the broker URL and PAK: readable by the user only. */
export interface Session {
  url: string;
  pak: string;
}

export function sessionFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BROKKR_CLI_CONFIG) return env.BROKKR_CLI_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "brokkr", "cli.json");
}

/** BROKKR_URL and BROKKR_PAK (for CI) override what `brokkr login` stored. */
export function loadSession(env: NodeJS.ProcessEnv = process.env): Session {
  let stored: Partial<Session> = {};
  const file = sessionFile(env);
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<Session>;
  const url = env.BROKKR_URL || stored.url;
  const pak = env.BROKKR_PAK || stored.pak;
  if (!url || !pak)
    throw new CliError("not logged in: run `brokkr login --url <broker url> --pak <PAK>` (or set BROKKR_URL and BROKKR_PAK)");
  return { url: url.replace(/\/+$/, ""), pak };
}

export function saveSession(session: Session, env: NodeJS.ProcessEnv = process.env): string {
  const file = sessionFile(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}

/** An error the CLI prints as one line, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** The broker's error code, when the broker refused. */
    readonly code?: string,
  ) {
    super(message);
  }
}
