import { describe, expect, it } from "vitest";
import { BrokkrError, classifyFault, fromDatabaseError } from "./errors.js";
import { describeFault, describeStartFailure } from "./faults.js";

const pgError = (code: string, message = "x") => Object.assign(new Error(message), { code, severity: "ERROR" });

describe("database fault classification", () => {
  it.each([
    ["too many connections", pgError("53300", "sorry, too many clients already"), "TOO_MANY_CONNECTIONS"],
    ["statement timeout", pgError("57014", "canceling statement due to statement timeout"), "TIMEOUT"],
    ["server shutting down", pgError("57P01", "terminating connection due to administrator command"), "UNAVAILABLE"],
    ["starting up", pgError("57P03", "the database system is starting up"), "UNAVAILABLE"],
    [
      "refused, several addresses",
      Object.assign(new AggregateError([Object.assign(new Error("connect ECONNREFUSED ::1:5432"), { code: "ECONNREFUSED" })]), {
        code: "ECONNREFUSED",
      }),
      "UNAVAILABLE",
    ],
    ["pool acquire timeout", new Error("timeout exceeded when trying to connect"), "TIMEOUT"],
    ["stalled server", new Error("Query read timeout"), "TIMEOUT"],
    ["connection lost", new Error("Connection terminated unexpectedly"), "UNAVAILABLE"],
    [
      "Prisma, cannot reach",
      Object.assign(new Error("Can't reach database server at 10.0.0.7:5432"), { code: "P1001" }),
      "UNAVAILABLE",
    ],
    [
      "Prisma, driver adapter cause",
      Object.assign(new Error("raw"), {
        code: "P2010",
        meta: { driverAdapterError: { cause: { kind: "postgres", originalCode: "53300" } } },
      }),
      "TOO_MANY_CONNECTIONS",
    ],
  ])("classifies %s", (_name, err, fault) => {
    expect(classifyFault(err)).toBe(fault);
  });

  it("leaves client errors and other failures alone", () => {
    expect(classifyFault(pgError("23505"))).toBeUndefined();
    expect(classifyFault(new Error('Cannot query field "x" on type "Query"'))).toBeUndefined();
    expect(fromDatabaseError(pgError("23505"))).toMatchObject({ code: "CONFLICT" });
    const plain = new Error("boom");
    expect(fromDatabaseError(plain)).toBe(plain);
  });

  it("turns a fault into SERVICE_UNAVAILABLE with a message naming no host or port", () => {
    const coded = fromDatabaseError(Object.assign(new Error("Can't reach database server at 10.0.0.7:5432"), { code: "P1001" }));
    expect(coded).toBeInstanceOf(BrokkrError);
    expect(coded).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    expect((coded as Error).message).not.toMatch(/10\.0\.0\.7|5432/);
  });

  it("names the sizing rule for 53300, for operators", () => {
    expect(describeFault(pgError("53300"))).toMatch(/BROKKR__DATABASE__POOL_SIZE \+ 1 connections/);
    expect(describeStartFailure(pgError("53300"), { host: "0.0.0.0", port: 3000 }).message).toMatch(/53300/);
    expect(
      describeStartFailure(Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" }), { host: "0.0.0.0", port: 3000 })
        .message,
    ).toBe("port 3000 on 0.0.0.0 is already in use (set BROKKR__BROKER__PORT)");
  });
});
