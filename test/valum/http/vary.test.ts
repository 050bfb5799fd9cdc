import { describe, it, expect } from "@jest/globals";
import { mergeVary, parseVary } from "../../../valum/index.js";

describe("Vary", () => {
  it("adds each name once whatever its case, * absorbs", () => {
    expect(mergeVary(null, ["Accept"])).toBe("Accept");
    expect(mergeVary("Origin", ["Accept", "accept"])).toBe("Origin, Accept");
    expect(mergeVary("accept-encoding, origin", ["Accept-Encoding"])).toBe("accept-encoding, origin");
    expect(mergeVary("*", ["Accept"])).toBe("*");
    expect(mergeVary("Accept", ["*"])).toBe("*");
    expect(() => mergeVary(null, ["bad name"])).toThrow(RangeError);
  });

  it("round trips through parseVary", () => {
    for (const names of [["Accept"], ["Accept", "Accept-Language", "Origin"]]) expect(parseVary(mergeVary(null, names))).toEqual(names);
    expect(parseVary("a, , b,*")).toEqual(["*"]);
    expect(parseVary(null)).toEqual([]);
  });
});
