import { describe, expect, it } from "vitest";
import { ConfigError, configFrom } from "../config.js";

describe("the stickers settings", () => {
  it("names brokkr-system by default and takes BROKKR__STICKERS__NAMESPACE", () => {
    expect(configFrom({}).stickers.namespace).toBe("brokkr-system");
    expect(configFrom({ BROKKR__STICKERS__NAMESPACE: "release-stickers" }).stickers.namespace).toBe("release-stickers");
  });

  it("refuses a namespace Kubernetes would refuse, naming the variable", () => {
    expect(() => configFrom({ BROKKR__STICKERS__NAMESPACE: "Not_A_Namespace" })).toThrow(ConfigError);
    expect(() => configFrom({ BROKKR__STICKERS__NAMESPACE: "Not_A_Namespace" })).toThrow(/BROKKR__STICKERS__NAMESPACE/);
  });
});
