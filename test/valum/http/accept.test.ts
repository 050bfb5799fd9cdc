import { describe, it, expect } from "@jest/globals";
import { preferredValues, chooseValue, ENCODING_PREFERENCE } from "../../../valum/index.js";

const codings = ["br", "gzip", "deflate", "identity"];

describe("preferredValues for Accept-Encoding (RFC 9110 section 12.5.3)", () => {
  it("orders by q-value, ties in the server's order (br, gzip, deflate)", () => {
    expect(ENCODING_PREFERENCE).toEqual(codings);
    expect(preferredValues("accept-encoding", "gzip, deflate, br", codings)).toEqual(["br", "gzip", "deflate", "identity"]);
    expect(preferredValues("accept-encoding", "gzip;q=1, br;q=0.5", codings)).toEqual(["gzip", "br", "identity"]);
    expect(chooseValue("accept-encoding", "deflate, gzip", codings)).toBe("gzip");
  });

  it("q=0 refuses a coding; identity stays acceptable unless refused", () => {
    expect(preferredValues("accept-encoding", "br;q=0, gzip", codings)).toEqual(["gzip", "identity"]);
    expect(preferredValues("accept-encoding", "gzip, identity;q=0", codings)).toEqual(["gzip"]);
    expect(preferredValues("accept-encoding", "gzip, *;q=0", codings)).toEqual(["gzip"]);
    expect(chooseValue("accept-encoding", "br;q=0, gzip;q=0, identity;q=0", codings)).toBeNull();
  });

  it("* covers what is not named", () => {
    expect(preferredValues("accept-encoding", "*", codings)).toEqual(codings);
    expect(preferredValues("accept-encoding", "gzip;q=0.2, *", codings)).toEqual(["br", "deflate", "identity", "gzip"]);
  });

  it("no header or an empty one: identity only", () => {
    expect(preferredValues("accept-encoding", null, codings)).toEqual(["identity"]);
    expect(preferredValues("accept-encoding", "", codings)).toEqual(["identity"]);
  });

  it("ignores unknown codings and bad q-values", () => {
    expect(preferredValues("accept-encoding", "zstd, gzip;q=abc, br", codings)).toEqual(["br", "identity"]);
  });
});

describe("preferredValues for the other Accept headers", () => {
  it("media types, charsets and languages", () => {
    expect(chooseValue("accept", "text/html;q=0.5, application/json", ["text/html", "application/json"])).toBe("application/json");
    expect(chooseValue("accept", "image/*", ["text/html", "image/png"])).toBe("image/png");
    expect(chooseValue("accept", "text/plain", ["application/json"])).toBeNull();
    expect(chooseValue("accept-charset", "utf-8, iso-8859-1;q=0.2", ["iso-8859-1", "utf-8"])).toBe("utf-8");
    expect(preferredValues("accept-language", "fr-CA, en;q=0.5", ["en", "fr"])).toEqual(["fr", "en"]);
  });
});
