import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, configFrom } from "../config.js";
import { readConfigFile } from "./file.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "brokkr-config-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

describe("the configuration file", () => {
  it("flattens TOML sections into BROKKR__ names, lists joined by commas", () => {
    const file = write(
      "a.toml",
      `[log]\nlevel = "warn"\n[cors]\nallowed_origins = ["https://a.example", "https://b.example"]\nmax_age_seconds = 60\n`,
    );
    expect(readConfigFile(file)).toEqual({
      BROKKR__LOG__LEVEL: "warn",
      BROKKR__CORS__ALLOWED_ORIGINS: "https://a.example,https://b.example",
      BROKKR__CORS__MAX_AGE_SECONDS: "60",
    });
  });

  it("reads YAML and JSON by extension", () => {
    expect(readConfigFile(write("b.yaml", "log:\n  level: error\n"))).toEqual({ BROKKR__LOG__LEVEL: "error" });
    expect(readConfigFile(write("c.json", '{"broker":{"port":4000}}'))).toEqual({ BROKKR__BROKER__PORT: "4000" });
  });

  it("sits between the defaults and the environment, which wins", () => {
    const file = write("d.toml", `[log]\nlevel = "warn"\n[broker]\nport = 4100\n`);
    const config = configFrom({ BROKKR_CONFIG_FILE: file, BROKKR__BROKER__PORT: "4200" });
    expect(config.log.level).toBe("warn");
    expect(config.broker.port).toBe(4200);
    expect(config.source.file).toBe(file);
  });

  it("checks the file's values with the same rules as the environment's", () => {
    const file = write("e.toml", `[log]\nlevel = "loud"\n`);
    expect(() => configFrom({ BROKKR_CONFIG_FILE: file })).toThrow(/BROKKR__LOG__LEVEL/);
  });

  it("refuses a missing, unparsable or shapeless file in one line naming BROKKR_CONFIG_FILE", () => {
    const cases = [path.join(dir, "missing.toml"), write("f.toml", "[log\nlevel = 1"), write("g.yaml", "- just\n- a list\n")];
    for (const file of cases) {
      let problems: string[] = [];
      try {
        configFrom({ BROKKR_CONFIG_FILE: file });
      } catch (err) {
        if (err instanceof ConfigError) problems = err.problems;
      }
      expect(problems, file).toHaveLength(1);
      expect(problems[0], file).toMatch(/^BROKKR_CONFIG_FILE: /);
    }
  });

  it("refuses a setting name that could not be an environment variable", () => {
    expect(() => readConfigFile(write("h.json", '{"log":{"le-vel":"info"}}'))).toThrow(/not a setting name/);
  });
});
