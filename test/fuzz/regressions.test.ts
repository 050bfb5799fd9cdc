// One test per bug the property-based fuzz suite (test/fuzz/properties/) found, named after it:
// the shrunk counterexample fast-check printed, kept so that the bug stays fixed.
import { describe, it, expect } from "@jest/globals";
import { decodeVariable, requestFromEnvironment } from "../../vsgi/cgi-environment.js";
import { VsgiError } from "../../vsgi/errors.js";
import { RuleError, compileRule, parseRule } from "../../valum/rule.js";
import { parseCookies } from "../../vsgi/cookies.js";
import { decodePairs, decodeVariables } from "../../servers/fastcgi/records.js";
import { escapeLogText } from "../../vsgi/log-buffer.js";

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

describe("fuzz regressions: CGI environment reader", () => {
  it("cgi-lone-surrogate-path-info: a PATH_INFO that is no well-formed text is a 400, not a URIError", () => {
    // was URIError: URI malformed (from encodeURI), a 500 on the cgi backend
    const env = { REQUEST_METHOD: "GET", SCRIPT_NAME: "/app", PATH_INFO: "\ud800" };
    expect(() => requestFromEnvironment(env, undefined)).toThrow(expect.objectContaining({ status: 400, message: expect.stringContaining("PATH_INFO") }));
    expect(() => requestFromEnvironment({ REQUEST_METHOD: "GET", SCRIPT_NAME: "/\udc00", PATH_INFO: "/a" }, undefined)).toThrow(VsgiError);
  });
});

describe("fuzz regressions: CGI environment reader, paths", () => {
  it("cgi-path-without-slash: SCRIPT_NAME or PATH_INFO without a leading / still gives a path starting with /", () => {
    // was path "A:" (and uri "a:", a URL of its own)
    expect(requestFromEnvironment({ REQUEST_METHOD: "GET", SCRIPT_NAME: "A:" }, undefined).path).toBe("/A:");
    expect(requestFromEnvironment({ REQUEST_METHOD: "GET", REQUEST_URI: "/a", SCRIPT_NAME: "/0", PATH_INFO: "A:" }, undefined).path).toBe("/A:");
  });

  it("cgi-request-uri-other-scheme: a REQUEST_URI such as a:b is a path, not a URL whose path has no /", () => {
    // was path "b"
    expect(requestFromEnvironment({ REQUEST_METHOD: "GET", REQUEST_URI: "a:b" }, undefined).path).toBe("/a:b");
    expect(requestFromEnvironment({ REQUEST_METHOD: "GET", REQUEST_URI: "http://h/x?y" }, undefined).target).toBe("/x?y");
  });
});

describe("fuzz regressions: rule grammar", () => {
  it("rule-lone-surrogate: a rule holding a lone surrogate is a RuleError, not a URIError", () => {
    // was URIError: URI malformed, from encodeLiteral at compile time
    expect(() => compileRule("/a\ud800")).toThrow(RuleError);
    expect(() => parseRule("/\udc00")).toThrow(/lone surrogate/);
    expect(compileRule("/\ud83d\ude00").match("/%F0%9F%98%80")).toEqual({});
  });

  it("rule-reverse-lone-surrogate: urlFor with a value holding a lone surrogate is a RuleError, not a URIError", () => {
    // was URIError: URI malformed, from encodeURIComponent in reverse
    expect(() => compileRule("/a/<p>").reverse({ p: "\ud800" })).toThrow(RuleError);
    expect(() => compileRule("/a/<path:p>").reverse({ p: "x/\ud800" })).toThrow(/not well-formed/);
  });
});

describe("fuzz regressions: Cookie reader", () => {
  it("cookie-quadratic-separators: a Cookie header of separators without any = is read in one pass", () => {
    // was quadratic: each piece searched for "=" to the end of the header (256 KiB took 0.6 s,
    // this one minutes); linear, it takes milliseconds, far within the test's timeout
    expect(parseCookies([";".repeat(4 << 20)]).size).toBe(0);
    expect(parseCookies([";".repeat(1000) + "a=1" + ",".repeat(1000) + "b"]).get("a")).toBe("1");
  });
});

describe("fuzz regressions: rule grammar, nesting", () => {
  it("rule-deep-nesting: groups nested thousands deep are a RuleError, not a stack overflow", () => {
    // was RangeError: Maximum call stack size exceeded (10,000 levels)
    expect(() => compileRule("/" + "(a".repeat(10000) + ")?".repeat(10000))).toThrow(RuleError);
    expect(() => parseRule("/" + "(".repeat(33) + ")".repeat(33))).toThrow(/nested deeper than 32/);
    expect(compileRule("/" + "(a".repeat(32) + ")?".repeat(32)).match("/aaa")).toEqual({});
  });
});

describe("fuzz regressions: access log escaping", () => {
  it("log-lone-surrogate-before-latin1: a lone high surrogate does not take the character after it into its UTF-8 bytes", () => {
    // was "\\xef\\xbf\\xbd\\xc3\\xa9": é, a latin-1 byte everywhere else in the line, written as UTF-8
    expect(escapeLogText("\ud800\u00e9")).toBe("\\xef\\xbf\\xbd\\xe9");
    expect(escapeLogText("\ud83d\ude00")).toBe("\\xf0\\x9f\\x98\\x80");
  });
});
