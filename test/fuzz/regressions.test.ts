// One test per bug the property-based fuzz suite (test/fuzz/properties/) found, named after it:
// the shrunk counterexample fast-check printed, kept so that the bug stays fixed.
import { describe, it, expect } from "@jest/globals";
import { decodeVariable } from "../../vsgi/cgi-environment.js";
import { decodePairs, decodeVariables } from "../../servers/fastcgi/records.js";

describe("fuzz regressions: FastCGI name-value pairs", () => {
  it("fastcgi-invalid-utf8-value: a value that is no UTF-8 is read byte for byte, as on the other backends", () => {
    // was "A" -> "\ufffd": the SCGI and CGI backends read "\x80" (decodeVariable)
    const block = Buffer.from([1, 1, 0x41, 0x80]);
    expect(decodePairs(block)).toEqual([["A", "\x80"]]);
    expect(decodeVariables(Buffer.from([9, 2, ...Buffer.from("PATH_INFO"), 0x2f, 0xff])).get("PATH_INFO")).toBe(decodeVariable("PATH_INFO", Buffer.from([0x2f, 0xff])));
  });

  it("fastcgi-http-underscore-name: the variable named HTTP_ alone is read as a header, as decodeVariable reads it", () => {
    // was "HTTP_" -> " " (UTF-8) while decodeVariable gives "\u00c2\u00a0" (Latin-1)
    const block = Buffer.concat([Buffer.from([5, 2]), Buffer.from("HTTP_"), Buffer.from("\u00a0")]);
    expect(decodePairs(block)).toEqual([["HTTP_", decodeVariable("HTTP_", Buffer.from("\u00a0"))]]);
  });
});
