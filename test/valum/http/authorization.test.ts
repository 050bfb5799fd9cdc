import { describe, it, expect } from "@jest/globals";
import {
  AuthSyntaxError,
  constantTimeEqual,
  decodeBasicCredentials,
  decodeHeaderUtf8,
  encodeBasicCredentials,
  parseChallenges,
  parseCredentials,
  quote,
  serializeAuthParams,
  type AuthParams,
} from "../../../valum/http/authorization.js";
import {
  DIGEST_ALGORITHMS,
  decodeExtValue,
  digestAlgorithm,
  digestHash,
  digestResponse,
  digestSecret,
  digestUserhash,
  encodeExtValue,
} from "../../../valum/http/digest.js";
import { random as seeded, int } from "../../helpers/random.js";

function params(entries: [string, string][]): Map<string, string> {
  return new Map(entries);
}

describe("parseCredentials", () => {
  it("reads a token68", () => {
    expect(parseCredentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")).toEqual({ scheme: "Basic", token68: "QWxhZGRpbjpvcGVuIHNlc2FtZQ==", params: new Map() });
  });

  it("reads auth-params with tokens, quoted-strings and escapes; names are lower-cased", () => {
    const c = parseCredentials('Digest  UserName="a\\"b\\\\c" ,nc=00000001,\tqop = auth, uri="/x?y=1,2"');
    expect(c.scheme).toBe("Digest");
    expect(c.token68).toBeNull();
    expect([...c.params]).toEqual([
      ["username", 'a"b\\c'],
      ["nc", "00000001"],
      ["qop", "auth"],
      ["uri", "/x?y=1,2"],
    ]);
  });

  it("accepts empty list elements (RFC 9110 §5.6.1) and a bare scheme", () => {
    expect([...parseCredentials("Digest a=1, , b=2,").params]).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
    expect(parseCredentials("Negotiate")).toEqual({ scheme: "Negotiate", token68: null, params: new Map() });
  });

  it.each([
    ["", "no scheme"],
    ["Basic QWxh ZGRp", "two token68"],
    ['Digest a="unterminated', "unterminated quoted-string"],
    ['Digest a="x\u0001y"', "control character"],
    ['Digest a="x\\', "dangling escape"],
    ["Digest a=1, a=2", "duplicate parameter"],
    ["Digest A=1, a=2", "duplicate parameter, case-insensitively"],
    ["Digest b=1, a=", "no value"],
    ["Digest a b=1", "no equals sign"],
    ["Digest a=1 b=2", "no comma"],
    ["Basic\u0001x", "no space after the scheme"],
    ["Digest =1", "no name"],
  ])("throws an AuthSyntaxError on %j (%s)", (value) => {
    expect(() => parseCredentials(value)).toThrow(AuthSyntaxError);
  });
});

describe("parseChallenges", () => {
  it("splits challenges whose auth-params also contain commas", () => {
    const list = parseChallenges('Digest realm="a, b", qop="auth, auth-int", algorithm=SHA-256, nonce="x", Basic realm="y", charset="UTF-8", Newauth abc==, Other');
    expect(list.map((c) => c.scheme)).toEqual(["Digest", "Basic", "Newauth", "Other"]);
    expect(list[0]!.params.get("realm")).toBe("a, b");
    expect(list[0]!.params.get("qop")).toBe("auth, auth-int");
    expect(list[1]!.params.get("charset")).toBe("UTF-8");
    expect(list[2]!.token68).toBe("abc==");
  });

  it("accepts empty elements between challenges", () => {
    expect(parseChallenges(" , Basic realm=a ,, Bearer ,").map((c) => c.scheme)).toEqual(["Basic", "Bearer"]);
  });
});

describe("serializeAuthParams round trips", () => {
  it("quotes values, escaping quotes and backslashes, and leaves the bare names bare", () => {
    const challenge: AuthParams = { scheme: "Digest", token68: null, params: params([["realm", 'say "hi" \\ bye'], ["algorithm", "SHA-256"], ["stale", "true"]]) };
    const text = serializeAuthParams(challenge, new Set(["algorithm", "stale"]));
    expect(text).toBe('Digest realm="say \\"hi\\" \\\\ bye", algorithm=SHA-256, stale=true');
    expect(parseChallenges(text)).toEqual([challenge]);
    expect(parseCredentials(text)).toEqual(challenge);
  });

  it("writes a token68 as it is", () => {
    const value: AuthParams = { scheme: "Basic", token68: "YTpi", params: new Map() };
    expect(serializeAuthParams(value)).toBe("Basic YTpi");
    expect(parseCredentials(serializeAuthParams(value))).toEqual(value);
  });

  it("refuses what a header cannot carry", () => {
    expect(() => quote("a\r\nb")).toThrow(AuthSyntaxError);
    expect(() => serializeAuthParams({ scheme: "Bad scheme", token68: null, params: new Map() })).toThrow(AuthSyntaxError);
    expect(() => serializeAuthParams({ scheme: "Digest", token68: null, params: params([["bad name", "x"]]) })).toThrow(AuthSyntaxError);
  });

  it("gives back random challenge lists (printable Latin-1 values, escapes, commas)", () => {
    const rand = seeded(7616);
    const random = { int: (max: number) => int(rand, max) };
    const alphabet = 'abcXYZ019 ,;="\\\t!#$%&\'()*+-./:<>?@[]^_`{|}~\u00e9\u00ff';
    for (let round = 0; round < 300; round++) {
      const list: AuthParams[] = [];
      const count = 1 + random.int(3);
      for (let c = 0; c < count; c++) {
        const entries: [string, string][] = [];
        const n = 1 + random.int(4);
        for (let p = 0; p < n; p++) {
          let value = "";
          const length = random.int(12);
          for (let k = 0; k < length; k++) value += alphabet[random.int(alphabet.length)];
          entries.push([`p${p}`, value]);
        }
        list.push({ scheme: `S${c}`, token68: null, params: new Map(entries) });
      }
      const text = list.map((c) => serializeAuthParams(c)).join(", ");
      expect(parseChallenges(text)).toEqual(list);
      for (const c of list) expect(parseCredentials(serializeAuthParams(c))).toEqual(c);
    }
  });
});

describe("robustness", () => {
  it("throws nothing but AuthSyntaxError on random and mutated values", () => {
    const rand = seeded(9110);
    const alphabet = 'Basic Digest realm=" \\,=\t\r\n\u0000\u00ff\u0100abcAZ09+/-._~*';
    const seeds = ['Digest username="ana", realm="r", nc=00000001, qop=auth', "Basic YW5hOnB3", 'Basic realm="a", Digest nonce="x", Newauth abc=='];
    for (let round = 0; round < 3000; round++) {
      let value: string;
      if (round % 2 === 0) {
        value = "";
        const length = int(rand, 40);
        for (let k = 0; k < length; k++) value += alphabet[int(rand, alphabet.length)];
      } else {
        const chars = [...seeds[int(rand, seeds.length)]!];
        for (let m = 1 + int(rand, 3); m > 0; m--) chars.splice(int(rand, chars.length + 1), int(rand, 2), alphabet[int(rand, alphabet.length)]!);
        value = chars.join("");
      }
      for (const parse of [parseCredentials, parseChallenges, (v: string) => decodeBasicCredentials(v, "UTF-8"), decodeExtValue]) {
        try {
          parse(value);
        } catch (error) {
          expect(error).toBeInstanceOf(AuthSyntaxError);
        }
      }
    }
  });
});

describe("Basic credentials (RFC 7617)", () => {
  it("decodes the RFC example and splits on the first colon only", () => {
    expect(decodeBasicCredentials("QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "UTF-8")).toEqual({ username: "Aladdin", password: "open sesame" });
    expect(decodeBasicCredentials(encodeBasicCredentials("ana", "a:b:c"), "UTF-8")).toEqual({ username: "ana", password: "a:b:c" });
    expect(decodeBasicCredentials(encodeBasicCredentials("", ""), "UTF-8")).toEqual({ username: "", password: "" });
  });

  it("decodes UTF-8 (RFC 7617 §2.1 example: test / 123£)", () => {
    expect(decodeBasicCredentials("dGVzdDoxMjPCow==", "UTF-8")).toEqual({ username: "test", password: "123£" });
    expect(encodeBasicCredentials("test", "123£")).toBe("dGVzdDoxMjPCow==");
  });

  it("refuses non-UTF-8 bytes with charset UTF-8, reads them as Latin-1 without a charset", () => {
    const latin1 = Buffer.from("test:123\u00a3", "latin1").toString("base64");
    expect(() => decodeBasicCredentials(latin1, "UTF-8")).toThrow(AuthSyntaxError);
    expect(decodeBasicCredentials(latin1, null)).toEqual({ username: "test", password: "123£" });
    expect(decodeBasicCredentials("dGVzdDoxMjPCow==", null)).toEqual({ username: "test", password: "123£" });
  });

  it.each([
    ["not base64", "a b"],
    ["a stray character", "YTpi!"],
    ["an impossible length", "YTpiY"],
    ["misplaced padding", "YT=pi"],
    ["padding on a wrong length", "YTo=="],
    ["no colon", Buffer.from("ana").toString("base64")],
    ["a control character", Buffer.from("ana:pw\nx").toString("base64")],
    ["DEL", Buffer.from("an\u007fa:pw").toString("base64")],
  ])("refuses %s", (_what, token) => {
    expect(() => decodeBasicCredentials(token, "UTF-8")).toThrow(AuthSyntaxError);
  });

  it("refuses to encode a user-id with a colon", () => {
    expect(() => encodeBasicCredentials("a:b", "c")).toThrow(AuthSyntaxError);
  });
});

describe("Digest computations (RFC 7616)", () => {
  // RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
  const example = {
    method: "GET",
    uri: "/dir/index.html",
    nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    nc: "00000001",
    cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    qop: "auth" as const,
  };

  it("computes the responses of the RFC 7616 example", () => {
    const md5 = digestSecret("MD5", "Mufasa", "http-auth@example.org", "Circle of Life");
    const sha = digestSecret("SHA-256", "Mufasa", "http-auth@example.org", "Circle of Life");
    expect(digestResponse(md5, { ...example, algorithm: "MD5" })).toBe("8ca523f5e9506fed4657c9700eebdbec");
    expect(digestResponse(sha, { ...example, algorithm: "SHA-256" })).toBe("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  });

  it("hashes SHA-512-256 as FIPS 180-4 SHA-512/256 (not a truncated SHA-512)", () => {
    expect(digestHash("SHA-512-256", "abc")).toBe("53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
  });

  it("hashes the nonces into the secret for the -sess algorithms", () => {
    const secret = digestSecret("MD5", "Mufasa", "http-auth@example.org", "Circle of Life");
    const sess = digestResponse(secret, { ...example, algorithm: "MD5-sess" });
    expect(sess).not.toBe("8ca523f5e9506fed4657c9700eebdbec");
    const ha1 = digestHash("MD5", `${secret}:${example.nonce}:${example.cnonce}`);
    expect(sess).toBe(digestResponse(ha1, { ...example, algorithm: "MD5" }));
  });

  it("computes the userhash as H(username:realm), UTF-8", () => {
    expect(digestUserhash("SHA-256", "Jäsøn Doe", "api@example.org")).toBe(digestHash("SHA-256", "Jäsøn Doe:api@example.org"));
    expect(digestUserhash("MD5", "a", "b")).toBe(digestHash("MD5", "a:b"));
  });

  it("names algorithms case-insensitively", () => {
    expect(digestAlgorithm("sha-256")).toBe("SHA-256");
    expect(digestAlgorithm("md5-SESS")).toBe("MD5-sess");
    expect(digestAlgorithm("SHA-1")).toBeNull();
    expect(DIGEST_ALGORITHMS).toContain("SHA-512-256");
  });
});

describe("ext-value (RFC 8187) for username*", () => {
  it("round trips the RFC 7616 §3.9.2 name", () => {
    expect(encodeExtValue("Jäsøn Doe")).toBe("UTF-8''J%C3%A4s%C3%B8n%20Doe");
    expect(decodeExtValue("UTF-8''J%C3%A4s%C3%B8n%20Doe")).toBe("Jäsøn Doe");
    expect(decodeExtValue("utf-8'en'%e2%82%ac")).toBe("€");
    expect(decodeExtValue("iso-8859-1''%A3")).toBe("£");
  });

  it.each([["no quotes"], ["UTF-8'x"], ["KOI8-R''x"], ["UTF-8''%zz"], ["UTF-8''a b"], ["UTF-8''%C3"]])("refuses %j", (value) => {
    expect(() => decodeExtValue(value)).toThrow(AuthSyntaxError);
  });
});

describe("constantTimeEqual and decodeHeaderUtf8", () => {
  it("compares strings of any lengths", () => {
    expect(constantTimeEqual("secret", "secret")).toBe(true);
    expect(constantTimeEqual("secret", "secreT")).toBe(false);
    expect(constantTimeEqual("secret", "secret-but-longer")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
  });

  it("reads Latin-1 header text as UTF-8 only when it is valid UTF-8", () => {
    expect(decodeHeaderUtf8(Buffer.from("Jäsøn", "utf8").toString("latin1"))).toBe("Jäsøn");
    expect(decodeHeaderUtf8("caf\u00e9")).toBe("caf\u00e9");
    expect(decodeHeaderUtf8("plain")).toBe("plain");
  });
});
