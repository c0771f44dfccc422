import { expect } from "vitest";

/** Stack traces, SQL, ORM names and source paths never reach a client. */
export function expectNoLeaks(body: string) {
  for (const leak of [/stacktrace/i, /"exception"/i, /\bSELECT\b/, /prisma/i, /at \//, /\.ts:\d+/])
    expect(body).not.toMatch(leak);
}
