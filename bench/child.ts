// Forked children of the bench scripts (bench/broker-process.ts and friends), one home.
import { fork, type ChildProcess } from "node:child_process";

/** A compiled bench child (npm run build:bench-broker). */
export const compiled = (name: string) => new URL(`../dist/bench/${name}.mjs`, import.meta.url).pathname;

/** A forked child answering each message with one message, in order. */
export function child(file: string, execArgv: string[], env: Record<string, string> = {}) {
  const proc: ChildProcess = fork(file, [], { execArgv, env: { ...process.env, ...env } });
  const waiting: ((m: unknown) => void)[] = [];
  proc.on("message", (m) => waiting.shift()?.(m));
  return {
    next: <T>() => new Promise<T>((r) => waiting.push(r as (m: unknown) => void)),
    ask: <T>(msg: object) => {
      const answer = new Promise<T>((r) => waiting.push(r as (m: unknown) => void));
      proc.send(msg);
      return answer;
    },
    stop: async () => {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.send({ type: "stop" });
      await exited;
    },
  };
}
