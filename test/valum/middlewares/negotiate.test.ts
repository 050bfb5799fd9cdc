import { describe, it, expect } from "@jest/globals";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { brotliDecompressSync, gunzipSync, gzipSync, inflateSync } from "node:zlib";
import {
  Router,
  ClientError,
  negotiate,
  accept,
  acceptCharset,
  acceptEncoding,
  acceptLanguage,
  acceptRanges,
  NEGOTIATE_DEFAULTS,
  type HandlerCallback,
} from "../../../valum/index.js";
import { VsgiError } from "../../../vsgi/index.js";
import { withServer } from "../util.js";
import { send } from "../../helpers/http.js";

/** A body over the threshold, compressible, with non-ASCII text. */
const BIG = "négociation de contenu — ".repeat(400);

function echoType(expectations: string): Router {
  const app = new Router();
  app.get("/", accept(expectations, (req, res, next, ctx, value) => res.expandUtf8(`${value}|${ctx.negotiated}`)));
  return app;
}

async function chosen(app: Router, headers: Record<string, string>): Promise<string> {
  let result = "";
  await withServer(app, async (c) => {
    const r = await c.send("GET", "/", headers);
    expect(r.status).toBe(200);
    result = r.text.split("|")[0]!;
  });
  return result;
}

describe("accept: the choice", () => {
  it("the product of the client's and the server's q-values wins", async () => {
    const app = echoType("application/json, text/html; q=0.9");
    await withServer(app, async (c) => {
      // 1 × 0.9 against 0.8 × 1
      let r = await c.send("GET", "/", { Accept: "text/html, application/json; q=0.8" });
      expect(r.text).toBe("text/html|text/html");
      expect(r.headers["content-type"]).toBe("text/html; charset=UTF-8");
      // 1 × 0.9 against 0.95 × 1
      r = await c.send("GET", "/", { Accept: "text/html, application/json; q=0.95" });
      expect(r.text).toBe("application/json|application/json");
      expect(r.headers["content-type"]).toBe("application/json; charset=UTF-8");
      // no header: the server's q-values alone
      r = await c.send("GET", "/");
      expect(r.text).toBe("application/json|application/json");
    });
  });

  it("ties go to the client's order, then the server's", async () => {
    const app = echoType("application/json, text/html");
    expect(await chosen(app, { Accept: "text/html, application/json" })).toBe("text/html");
    expect(await chosen(app, { Accept: "application/json, text/html" })).toBe("application/json");
    expect(await chosen(app, { Accept: "*/*" })).toBe("application/json");
  });

  it("q outranks specificity; the most specific entry gives a type its q-value", async () => {
    const app = echoType("application/json, text/plain");
    expect(await chosen(app, { Accept: "application/json; q=0.5, text/*" })).toBe("text/plain");
    // text/plain is named with q=0.1: text/* no longer speaks for it
    expect(await chosen(app, { Accept: "text/*, text/plain; q=0.1, application/json; q=0.5" })).toBe("application/json");
    // equal products: the exact type before the range
    expect(await chosen(echoType("text/plain, text/html"), { Accept: "text/*, text/html" })).toBe("text/html");
  });

  it("wildcards: */*, type/*, and a bare * as some clients send", async () => {
    const app = echoType("image/png, text/html; q=0.5");
    expect(await chosen(app, { Accept: "text/*" })).toBe("text/html");
    expect(await chosen(app, { Accept: "*/*" })).toBe("image/png");
    expect(await chosen(app, { Accept: "text/html, *; q=.2" })).toBe("text/html");
  });

  it("+json and +xml suffixes: application/json and application/*+json take a +json type", async () => {
    expect(await chosen(echoType("application/problem+json, text/html; q=0.1"), { Accept: "application/json" })).toBe("application/problem+json");
    expect(await chosen(echoType("application/json; q=0.5, application/ld+json"), { Accept: "application/*+json" })).toBe("application/ld+json");
    expect(await chosen(echoType("text/html, application/atom+xml"), { Accept: "application/xml" })).toBe("application/atom+xml");
    // the exact type outranks the suffix at equal q
    expect(await chosen(echoType("application/vnd.api+json, application/json"), { Accept: "application/json" })).toBe("application/json");
  });

  it("q=0 excludes, on either side", async () => {
    const app = echoType("text/html, application/json; q=0.5, text/plain; q=0");
    expect(await chosen(app, { Accept: "text/html; q=0, */*" })).toBe("application/json");
    await withServer(app, async (c) => {
      const r = await c.send("GET", "/", { Accept: "text/plain" });
      expect(r.status).toBe(406);
      // the server's q=0 value is not offered
      expect(r.text).toBe("Not Acceptable. Available (Accept): text/html, application/json");
    });
  });

  it("406 lists what is available, with Vary, when nothing is acceptable", async () => {
    const app = echoType("application/json, text/html; q=0.9");
    await withServer(app, async (c) => {
      const r = await c.send("GET", "/", { Accept: "image/png, text/*; q=0" });
      expect(r.status).toBe(406);
      expect(r.headers["content-type"]).toBe("text/plain; charset=UTF-8");
      expect(r.text).toBe("Not Acceptable. Available (Accept): application/json, text/html");
      expect(r.headers["vary"]).toBe("Accept");
    });
  });

  it("a header it cannot read is disregarded, never an error", async () => {
    const app = echoType("application/json, text/html");
    for (const header of [";;;,,,", "text", "text/html;q=abc", "\"", "a/b/c;;=;q=", ",".repeat(4000)]) {
      expect(await chosen(app, { Accept: header })).toBe("application/json");
    }
    // a long list that names types is read, not disregarded
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/", { Accept: "x/y;q=1,".repeat(500) })).status).toBe(406);
      expect((await c.send("GET", "/", { Accept: "x/y;q=1,".repeat(500) + "text/html;q=0.1" })).text).toBe("text/html|text/html");
    });
  });

  it("a charset parameter of the chosen type is honoured: the UTF-8 body is transcoded", async () => {
    const app = new Router();
    app.get("/", accept("text/html; charset=ISO-8859-1, application/json", (req, res) => res.expandUtf8("<p>café €</p>")));
    await withServer(app, async (c) => {
      const r = await c.send("GET", "/", { Accept: "text/html" });
      expect(r.headers["content-type"]).toBe("text/html; charset=ISO-8859-1");
      expect(r.body).toEqual(Buffer.from("<p>caf\xe9 ?</p>", "latin1"));
      const json = await c.send("GET", "/", { Accept: "application/json" });
      expect(json.headers["content-type"]).toBe("application/json; charset=UTF-8");
      expect(json.text).toBe("<p>café €</p>");
    });
  });

  it("negotiate on Accept chooses and applies nothing but Vary; the handler may set its own type", async () => {
    const app = new Router();
    app.get("/", negotiate("Accept", "text/csv, application/json", (req, res, next, ctx, value) => {
      res.headers.set("X-Type-Before", String(res.headers.get("content-type")));
      res.headers.set("Content-Type", "text/plain");
      return res.expandUtf8(value);
    }));
    app.get("/own", accept("text/html, application/json", (req, res) => {
      res.headers.set("Content-Type", "application/xhtml+xml");
      return res.expand("<p/>");
    }));
    await withServer(app, async (c) => {
      const r = await c.send("GET", "/", { Accept: "application/json" });
      expect(r.text).toBe("application/json");
      expect(r.headers["x-type-before"]).toBe("null");
      expect(r.headers["vary"]).toBe("Accept");
      expect((await c.send("GET", "/own")).headers["content-type"]).toBe("application/xhtml+xml");
    });
  });
});

describe("Vary", () => {
  it("is appended once, merged with what is there, absorbed by *, and left out without a choice", async () => {
    const app = new Router();
    app.get("/merged", (req, res, next) => {
      res.headers.set("Vary", "origin, accept");
      return next();
    });
    app.get("/star", (req, res, next) => {
      res.headers.set("Vary", "*");
      return next();
    });
    app.get("/nested", acceptEncoding("gzip", acceptLanguage("en, fr", (req, res) => res.expandUtf8("x"))));
    app.get("/single", accept("text/html", (req, res) => res.expandUtf8("x")));
    app.get("/off", accept("text/html, application/json", (req, res) => res.expandUtf8("x"), { vary: false }));
    app.get("/<any>", accept("text/html, application/json", (req, res) => res.expandUtf8("x")));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/plain")).headers["vary"]).toBe("Accept");
      expect((await c.send("GET", "/merged")).headers["vary"]).toBe("origin, accept");
      expect((await c.send("GET", "/star")).headers["vary"]).toBe("*");
      expect((await c.send("GET", "/nested")).headers["vary"]).toBe("Accept-Encoding, Accept-Language");
      expect((await c.send("GET", "/single")).headers["vary"]).toBeUndefined();
      expect((await c.send("GET", "/off")).headers["vary"]).toBeUndefined();
    });
  });

  it("is on 304 and identity answers too", async () => {
    const app = new Router();
    app.get("/", acceptEncoding("gzip, br", (req, res) => {
      res.headers.set("ETag", '"v1"');
      if (req.headers.get("if-none-match") !== null) {
        res.status = 304;
        return res.end();
      }
      return res.expandUtf8(BIG);
    }));
    await withServer(app, async (c) => {
      const identity = await c.send("GET", "/");
      expect(identity.headers["content-encoding"]).toBeUndefined();
      expect(identity.headers["vary"]).toBe("Accept-Encoding");
      expect(identity.text).toBe(BIG);
      const notModified = await c.send("GET", "/", { "Accept-Encoding": "gzip", "If-None-Match": 'W/"v1"' });
      expect(notModified.status).toBe(304);
      expect(notModified.headers["vary"]).toBe("Accept-Encoding");
      expect(notModified.headers["content-encoding"]).toBeUndefined();
      // the validator the compressed 200 has (RFC 9110 15.4.5)
      expect(notModified.headers["etag"]).toBe('W/"v1"');
    });
  });
});

describe("acceptLanguage", () => {
  it("sets Content-Language; fr-CA accepts fr, fr accepts fr-CA, q-values multiply", async () => {
    const app = new Router();
    app.get("/", acceptLanguage("en, fr; q=0.9", (req, res, next, ctx, lang) => res.expandUtf8(lang)));
    app.get("/ca", acceptLanguage("en, fr-CA", (req, res, next, ctx, lang) => res.expandUtf8(lang)));
    await withServer(app, async (c) => {
      let r = await c.send("GET", "/", { "Accept-Language": "fr-CA, en; q=0.5" });
      expect(r.text).toBe("fr");
      expect(r.headers["content-language"]).toBe("fr");
      expect(r.headers["vary"]).toBe("Accept-Language");
      r = await c.send("GET", "/", { "Accept-Language": "fr, en; q=0.95" });
      expect(r.text).toBe("en"); // 0.95 × 1 against 1 × 0.9
      expect((await c.send("GET", "/ca", { "Accept-Language": "fr" })).text).toBe("fr-CA");
      expect((await c.send("GET", "/ca", { "Accept-Language": "FR-ca" })).text).toBe("fr-CA");
      expect((await c.send("GET", "/ca", { "Accept-Language": "de, *; q=0.1" })).text).toBe("en");
      r = await c.send("GET", "/ca", { "Accept-Language": "de, fr-FR" });
      expect(r.status).toBe(406);
      expect(r.text).toBe("Not Acceptable. Available (Accept-Language): en, fr-CA");
    });
  });
});

describe("acceptCharset", () => {
  const text = "café € 😀";
  function app(expectations: string): Router {
    const router = new Router();
    router.get("/", acceptCharset(expectations, (req, res, next, ctx, charset) => {
      res.headers.set("X-Charset", charset);
      res.headers.set("Content-Type", "text/plain");
      return res.expandUtf8(text);
    }));
    router.get("/stream", acceptCharset(expectations, async (req, res) => {
      res.headers.set("Content-Type", "text/plain");
      const bytes = Buffer.from(text, "utf8");
      // a UTF-8 sequence cut between two chunks
      await res.append(bytes.subarray(0, 4));
      await res.append(bytes.subarray(4));
      return res.end();
    }));
    router.get("/encoded", acceptCharset(expectations, (req, res) => {
      res.headers.set("Content-Type", "text/plain");
      res.headers.set("Content-Encoding", "gzip");
      return res.expand(gzipSync(text));
    }));
    router.get("/partial", acceptCharset(expectations, (req, res) => {
      const bytes = Buffer.from(text, "utf8");
      res.status = 206;
      res.headers.set("Content-Type", "text/plain");
      res.headers.set("Content-Range", `bytes 0-3/${bytes.length}`);
      return res.expand(bytes.subarray(0, 4));
    }));
    router.get("/binary", acceptCharset(expectations, (req, res) => {
      res.headers.set("Content-Type", "image/png");
      return res.expand(Buffer.from([0xc3, 0xa9]));
    }));
    return router;
  }

  it("transcodes the UTF-8 body into ISO-8859-1, US-ASCII, UTF-16LE, UTF-16BE and UTF-16", async () => {
    await withServer(app("UTF-8, ISO-8859-1, US-ASCII, UTF-16LE, UTF-16BE, UTF-16"), async (c) => {
      const cases: [string, string, Buffer][] = [
        ["iso-8859-1", "ISO-8859-1", Buffer.from("caf\xe9 ? ?", "latin1")],
        ["latin1", "ISO-8859-1", Buffer.from("caf\xe9 ? ?", "latin1")],
        ["us-ascii", "US-ASCII", Buffer.from("caf? ? ?", "latin1")],
        ["utf-16le", "UTF-16LE", Buffer.from(text, "utf16le")],
        ["utf-16be", "UTF-16BE", Buffer.from(text, "utf16le").swap16()],
        ["utf-16", "UTF-16", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")])],
        ["utf-8", "UTF-8", Buffer.from(text, "utf8")],
      ];
      for (const [asked, name, bytes] of cases) {
        const r = await c.send("GET", "/", { "Accept-Charset": asked });
        expect(r.headers["content-type"]).toBe(`text/plain; charset=${name}`);
        expect(r.body).toEqual(bytes);
        const streamed = await c.send("GET", "/stream", { "Accept-Charset": asked });
        expect(streamed.headers["content-type"]).toBe(`text/plain; charset=${name}`);
        expect(streamed.body).toEqual(bytes);
      }
      const r = await c.send("GET", "/", { "Accept-Charset": "iso-8859-1;q=0.5, utf-8" });
      expect(r.headers["x-charset"]).toBe("UTF-8");
      expect(r.headers["vary"]).toBe("Accept-Charset");
      // HEAD: the headers of GET, which has no length once transcoded
      const head = await c.send("HEAD", "/", { "Accept-Charset": "iso-8859-1" });
      expect(head.headers["content-type"]).toBe("text/plain; charset=ISO-8859-1");
      expect(head.headers["content-length"]).toBeUndefined();
      // coded bytes and byte ranges are not text to re-encode
      const encoded = await c.send("GET", "/encoded", { "Accept-Charset": "iso-8859-1" });
      expect(encoded.headers["content-type"]).toBe("text/plain");
      expect(gunzipSync(encoded.body).toString("utf8")).toBe(text);
      const partial = await c.send("GET", "/partial", { "Accept-Charset": "iso-8859-1" });
      expect(partial.status).toBe(206);
      expect(partial.body).toEqual(Buffer.from(text, "utf8").subarray(0, 4));
      // a body that is no text keeps its bytes and its type
      const binary = await c.send("GET", "/binary", { "Accept-Charset": "iso-8859-1" });
      expect(binary.headers["content-type"]).toBe("image/png");
      expect(binary.body).toEqual(Buffer.from([0xc3, 0xa9]));
    });
  });

  it("406 when no charset is acceptable", async () => {
    await withServer(app("UTF-8, ISO-8859-1; q=0.5"), async (c) => {
      const r = await c.send("GET", "/", { "Accept-Charset": "shift_jis, utf-8;q=0" });
      expect(r.status).toBe(406);
      expect(r.text).toBe("Not Acceptable. Available (Accept-Charset): UTF-8, ISO-8859-1");
    });
  });

  it("with accept outside, the chosen type carries the chosen charset", async () => {
    const router = new Router();
    router.get("/", acceptCharset("utf-8, iso-8859-1", accept("text/html, application/json", (req, res) => res.expandUtf8("é"))));
    await withServer(router, async (c) => {
      const r = await c.send("GET", "/", { Accept: "text/html", "Accept-Charset": "iso-8859-1" });
      expect(r.headers["content-type"]).toBe("text/html; charset=ISO-8859-1");
      expect(r.body).toEqual(Buffer.from([0xe9]));
      expect(r.headers["vary"]).toBe("Accept-Charset, Accept");
    });
  });
});

describe("acceptEncoding", () => {
  function compressing(options = {}): Router {
    const app = new Router();
    app.get("/", acceptEncoding("gzip, deflate, br", (req, res, next, ctx, coding) => {
      res.headers.set("X-Coding", coding);
      res.headers.set("ETag", '"abc"');
      res.headers.set("Accept-Ranges", "bytes");
      return res.expandUtf8(BIG);
    }, options));
    app.get("/stream", acceptEncoding("gzip, br", (req, res) => {
      res.headers.set("Content-Type", "text/plain");
      return res.expandStream(Readable.from([BIG.slice(0, 10), BIG.slice(10)]));
    }));
    app.get("/small", acceptEncoding("gzip", (req, res) => res.expandUtf8("tiny")));
    app.get("/small-stream", acceptEncoding("gzip", (req, res) => {
      res.headers.set("Content-Length", 4);
      return res.expandStream(Readable.from([Buffer.from("ti"), Buffer.from("ny")]));
    }));
    app.get("/status/<int:code>", acceptEncoding("gzip", (req, res, next, ctx) => {
      res.status = ctx.code;
      if (ctx.code === 206) res.headers.set("Content-Range", `bytes 0-${Buffer.byteLength(BIG) - 1}/${Buffer.byteLength(BIG) + 10}`);
      return ctx.code === 204 || ctx.code === 304 ? res.end() : res.expandUtf8(BIG);
    }));
    app.get("/no-transform", acceptEncoding("gzip", (req, res) => {
      res.headers.set("Cache-Control", "public, No-Transform");
      return res.expandUtf8(BIG);
    }));
    app.get("/encoded", acceptEncoding("gzip", (req, res) => {
      res.headers.set("Content-Encoding", "gzip");
      return res.expand(gzipSync(BIG));
    }));
    app.get("/events", acceptEncoding("gzip", (req, res) => {
      res.headers.set("Content-Type", "text/event-stream");
      return res.expandUtf8(`data: ${BIG}\n\n`);
    }));
    app.get("/thrown", acceptEncoding("gzip", () => {
      throw new ClientError(404, BIG);
    }));
    return app;
  }

  it("gzip, deflate and br bodies decompress to the original; Content-Length goes, a strong ETag turns weak", async () => {
    await withServer(compressing(), async (c) => {
      const decoders: [string, (b: Buffer) => Buffer][] = [
        ["gzip", gunzipSync],
        ["deflate", inflateSync],
        ["br", brotliDecompressSync],
      ];
      for (const [coding, decode] of decoders) {
        const r = await c.send("GET", "/", { "Accept-Encoding": coding });
        expect(r.status).toBe(200);
        expect(r.headers["content-encoding"]).toBe(coding);
        expect(r.headers["x-coding"]).toBe(coding);
        expect(r.headers["content-length"]).toBeUndefined();
        expect(r.headers["etag"]).toBe('W/"abc"');
        expect(r.headers["accept-ranges"]).toBeUndefined();
        expect(r.headers["vary"]).toBe("Accept-Encoding");
        expect(r.body.length).toBeLessThan(Buffer.byteLength(BIG) / 4);
        expect(decode(r.body).toString("utf8")).toBe(BIG);
      }
      const streamed = await c.send("GET", "/stream", { "Accept-Encoding": "gzip" });
      expect(streamed.headers["content-encoding"]).toBe("gzip");
      expect(gunzipSync(streamed.body).toString("utf8")).toBe(BIG);
      // a thrown status's body is compressed as well
      const thrown = await c.send("GET", "/thrown", { "Accept-Encoding": "gzip" });
      expect(thrown.status).toBe(404);
      expect(gunzipSync(thrown.body).toString("utf8")).toBe(BIG);
    });
  });

  it("ties go br, gzip, deflate whatever the client's order; q-values first", async () => {
    await withServer(compressing(), async (c) => {
      const coding = async (header: string) => (await c.send("GET", "/", { "Accept-Encoding": header })).headers["x-coding"];
      expect(await coding("deflate, gzip, br")).toBe("br");
      expect(await coding("deflate, gzip")).toBe("gzip");
      expect(await coding("gzip;q=0.5, deflate")).toBe("deflate");
      expect(await coding("*")).toBe("br");
      expect(await coding("br;q=0, *")).toBe("gzip");
      expect(await coding("x-gzip")).toBe("gzip");
      expect(await coding("identity, gzip;q=0.5")).toBe("identity");
      expect(await coding("compress")).toBe("identity");
    });
  });

  it("identity when the client names no coding; 406 when identity is refused too", async () => {
    await withServer(compressing(), async (c) => {
      const plain = await c.send("GET", "/");
      expect(plain.headers["x-coding"]).toBe("identity");
      expect(plain.headers["content-encoding"]).toBeUndefined();
      expect(plain.headers["etag"]).toBe('"abc"');
      expect(plain.headers["content-length"]).toBe(String(Buffer.byteLength(BIG)));
      expect(plain.text).toBe(BIG);
      const refused = await c.send("GET", "/", { "Accept-Encoding": "compress, *;q=0" });
      expect(refused.status).toBe(406);
      expect(refused.text).toBe("Not Acceptable. Available (Accept-Encoding): gzip, deflate, br, identity");
    });
  });

  it("never compresses 204, 304, 206, HEAD, no-transform, encoded, event-stream or small bodies", async () => {
    await withServer(compressing(), async (c) => {
      const gzip = { "Accept-Encoding": "gzip" };
      for (const code of [204, 304, 206]) {
        const r = await c.send("GET", `/status/${code}`, gzip);
        expect(r.status).toBe(code);
        expect(r.headers["content-encoding"]).toBeUndefined();
        if (code === 206) expect(r.text).toBe(BIG);
      }
      const head = await c.send("HEAD", "/", gzip);
      expect(head.status).toBe(200);
      expect(head.headers["content-encoding"]).toBeUndefined();
      expect(head.headers["content-length"]).toBe(String(Buffer.byteLength(BIG)));
      expect(head.headers["etag"]).toBe('"abc"');
      const noTransform = await c.send("GET", "/no-transform", gzip);
      expect(noTransform.headers["content-encoding"]).toBeUndefined();
      expect(noTransform.text).toBe(BIG);
      const encoded = await c.send("GET", "/encoded", gzip);
      expect(encoded.headers["content-encoding"]).toBe("gzip");
      expect(gunzipSync(encoded.body).toString("utf8")).toBe(BIG); // once, not twice
      const events = await c.send("GET", "/events", gzip);
      expect(events.headers["content-encoding"]).toBeUndefined();
      expect(events.text).toBe(`data: ${BIG}\n\n`);
      for (const path of ["/small", "/small-stream"]) {
        const small = await c.send("GET", path, gzip);
        expect(small.headers["content-encoding"]).toBeUndefined();
        expect(small.headers["content-length"]).toBe("4");
        expect(small.text).toBe("tiny");
      }
    });
  });

  it("the threshold is an option: 0 compresses a small body", async () => {
    const app = new Router();
    app.get("/", acceptEncoding("gzip", (req, res) => res.expandUtf8("tiny"), { threshold: 0 }));
    await withServer(app, async (c) => {
      const r = await c.send("GET", "/", { "Accept-Encoding": "gzip" });
      expect(r.headers["content-encoding"]).toBe("gzip");
      expect(gunzipSync(r.body).toString()).toBe("tiny");
    });
    expect(NEGOTIATE_DEFAULTS.threshold).toBe(1024);
  });

  it("transcodes before it compresses, whatever the order of the middlewares", async () => {
    const app = new Router();
    const send: HandlerCallback = (req, res) => {
      res.headers.set("Content-Type", "text/plain");
      return res.expandUtf8(BIG);
    };
    app.get("/a", acceptCharset("utf-8, iso-8859-1", acceptEncoding("gzip", send)));
    app.get("/b", acceptEncoding("gzip", acceptCharset("utf-8, iso-8859-1", send)));
    await withServer(app, async (c) => {
      for (const path of ["/a", "/b"]) {
        const r = await c.send("GET", path, { "Accept-Encoding": "gzip", "Accept-Charset": "iso-8859-1" });
        expect(r.headers["content-encoding"]).toBe("gzip");
        expect(r.headers["content-type"]).toBe("text/plain; charset=ISO-8859-1");
        expect(gunzipSync(r.body)).toEqual(Buffer.from(BIG.replace(/—/g, "?"), "latin1"));
      }
    });
  });
});

describe("hostile input", () => {
  it("random Accept-* values get 200 or 406 with a body that matches, never a 500", async () => {
    const app = new Router();
    app.get("/", acceptEncoding("br, gzip, deflate", acceptCharset("utf-8, iso-8859-1; q=0.5", acceptLanguage("en, fr-CA", accept("text/html, application/json; q=0.5", (req, res) => {
      res.headers.set("Content-Type", "text/plain");
      return res.expandUtf8(BIG);
    }, { vary: true })))));
    let seed = 11;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 8) % n; // the low bits of this generator repeat with short periods
    };
    const junk = ' ,;=*/-+."\\\tqé';
    const values: Record<string, string[]> = {
      Accept: ["text/html", "application/json", "text/*", "*/*", "image/png", "application/*+json", "*"],
      "Accept-Encoding": ["gzip", "br", "deflate", "identity", "*", "x-gzip", "zstd"],
      "Accept-Charset": ["utf-8", "iso-8859-1", "latin1", "*", "koi8-r"],
      "Accept-Language": ["en", "fr", "fr-CA", "fr-FR", "*", "de"],
    };
    const qs = ["", "", ";q=0", ";q=0.5", ";q=1", ";q=.3", ";q=abc", ";q=", ";level=1"];
    const value = (name: string) => {
      const parts: string[] = [];
      for (let i = random(4); i >= 0; i--) {
        let part = values[name]![random(values[name]!.length)]! + qs[random(qs.length)];
        if (random(5) === 0) part += junk[random(junk.length)];
        parts.push(part);
      }
      return parts.join(random(3) === 0 ? "," : ", ").trim();
    };
    const seen = new Set<string>();
    await withServer(app, async (c) => {
      for (let i = 0; i < 200; i++) {
        const headers: Record<string, string> = {};
        for (const name of ["Accept", "Accept-Encoding", "Accept-Charset", "Accept-Language"]) if (random(4) !== 0) headers[name] = value(name);
        const r = await c.send("GET", "/", headers);
        expect([headers, r.status === 200 || r.status === 406]).toEqual([headers, true]);
        seen.add(String(r.status));
        if (r.status !== 200) continue;
        const coding = r.headers["content-encoding"];
        seen.add(String(coding));
        const body = coding === "gzip" ? gunzipSync(r.body) : coding === "br" ? brotliDecompressSync(r.body) : coding === "deflate" ? inflateSync(r.body) : r.body;
        const latin = String(r.headers["content-type"]).endsWith("ISO-8859-1");
        expect(body.toString(latin ? "latin1" : "utf8")).toBe(latin ? BIG.replace(/—/g, "?") : BIG);
      }
    });
    // the random values reached every outcome
    expect([...seen].sort()).toEqual(["200", "406", "br", "deflate", "gzip", "undefined"]);
  });

  it("a large streamed body goes through the compressor at the client's pace", async () => {
    const chunk = Buffer.from("0123456789abcdef".repeat(4096)); // 64 KiB
    const app = new Router();
    app.get("/", acceptEncoding("gzip", async (req, res) => {
      res.headers.set("Content-Type", "application/octet-stream");
      for (let i = 0; i < 128; i++) await res.append(chunk);
      return res.end();
    }));
    await withServer(app, async (c) => {
      const r = await c.send("GET", "/", { "Accept-Encoding": "gzip" });
      const body = gunzipSync(r.body);
      expect(body.length).toBe(128 * chunk.length);
      expect(body.subarray(0, chunk.length)).toEqual(chunk);
      expect(body.subarray(body.length - chunk.length)).toEqual(chunk);
    });
  });
});

describe("acceptRanges and negotiate on any header", () => {
  it("acceptRanges sets Accept-Ranges; without the request header the server's first value", async () => {
    const app = new Router();
    app.get("/", acceptRanges("bytes, none; q=0.1", (req, res, next, ctx, value) => res.expandUtf8(value)));
    await withServer(app, async (c) => {
      let r = await c.send("GET", "/");
      expect(r.headers["accept-ranges"]).toBe("bytes");
      r = await c.send("GET", "/", { "Accept-Ranges": "none" });
      expect(r.headers["accept-ranges"]).toBe("none");
      expect(r.headers["vary"]).toBe("Accept-Ranges");
    });
  });

  it("negotiate compares other headers as tokens, case-insensitively, with *", async () => {
    const app = new Router();
    app.get("/", negotiate("X-Flavour", "vanilla, chocolate; q=0.5", (req, res, next, ctx, value) => res.expandUtf8(value)));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/", { "X-Flavour": "CHOCOLATE" })).text).toBe("chocolate");
      expect((await c.send("GET", "/", { "X-Flavour": "*" })).text).toBe("vanilla");
      expect((await c.send("GET", "/", { "X-Flavour": "chocolate, vanilla;q=0.4" })).text).toBe("chocolate");
      expect((await c.send("GET", "/", { "X-Flavour": "strawberry" })).status).toBe(406);
      expect((await c.send("GET", "/", { "X-Flavour": "strawberry" })).headers["vary"]).toBe("X-Flavour");
    });
  });
});

describe("registration", () => {
  const forward = (() => true) as never;
  function error(make: () => unknown): string {
    try {
      make();
    } catch (e) {
      expect(e).toBeInstanceOf(VsgiError);
      expect((e as VsgiError).code).toBe("ERR_VSGI_INVALID_OPTION");
      return (e as Error).message;
    }
    throw new Error("no error");
  }

  it("names the helper and the option, once, before any request", () => {
    expect(error(() => accept("text/*", forward))).toMatch(/^accept: option expectations must be .*"text\/\*" is not a media type/);
    expect(error(() => accept("", forward))).toMatch(/^accept: option expectations .*names no value/);
    expect(error(() => accept("text/html; q=1.5", forward))).toMatch(/q must be a number from 0 to 1/);
    expect(error(() => accept("text/html, TEXT/HTML", forward))).toMatch(/listed twice/);
    expect(error(() => accept("text/html; charset=shift_jis", forward))).toMatch(/^accept: option expectations must be charsets valum can transcode into/);
    expect(error(() => acceptCharset("utf-8, windows-1252", forward))).toMatch(/^acceptCharset: .*got "windows-1252"/);
    expect(error(() => acceptEncoding("gzip, zstd", forward))).toMatch(/^acceptEncoding: option expectations must be codings among gzip, deflate, br, identity, got "zstd"/);
    expect(error(() => acceptLanguage("en_US", forward))).toMatch(/is not a language tag/);
    expect(error(() => acceptEncoding("gzip", forward, { threshold: -1 }))).toMatch(/^acceptEncoding: option threshold/);
    expect(error(() => accept("text/html", forward, { threshold: 10 } as never))).toMatch(/^accept: option threshold must be one of vary/);
    expect(error(() => accept("text/html", forward, { vary: "yes" } as never))).toMatch(/^accept: option vary must be true or false/);
    expect(error(() => negotiate("Bad Header", "a", forward))).toMatch(/^negotiate: option headerName/);
    expect(error(() => negotiate("X-A", "a", "nope" as never))).toMatch(/^negotiate: option forward/);
  });

  it("returns handlers named after their helper", () => {
    expect(accept("text/html", forward).name).toBe("accept");
    expect(acceptEncoding("gzip", forward).name).toBe("acceptEncoding");
    expect(negotiate("X-A", "a", forward).name).toBe("negotiate");
  });
});

describe("the example of docs/middlewares/negotiate.md", () => {
  it("runs as written", async () => {
    const probe = createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const app = fileURLToPath(new URL("../../../examples/negotiate/app.js", import.meta.url));
    const proc = spawn(process.execPath, [app, "-p", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      let up = false;
      for (let attempt = 0; attempt < 200 && !up && proc.exitCode === null; attempt++) {
        up = await send(port, "GET", "/").then(
          () => true,
          () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 50)),
        );
      }
      expect({ up, stderr: up ? "" : stderr }).toEqual({ up: true, stderr: "" });
      const html = await send(port, "GET", "/users/1", { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" });
      expect(html.headers["content-type"]).toBe("text/html; charset=UTF-8");
      expect(html.body.toString()).toBe("<h1>Ana</h1>");
      const json = await send(port, "GET", "/users/1", { Accept: "application/json" });
      expect(json.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(json.body.toString())).toEqual({ id: 1, name: "Ana" });
      expect((await send(port, "GET", "/users/1", { Accept: "image/png" })).status).toBe(406);
      expect((await send(port, "GET", "/users/2")).status).toBe(404);
      const french = await send(port, "GET", "/", { "Accept-Language": "fr-CA, en;q=0.5" });
      expect([french.headers["content-language"], french.body.toString()]).toEqual(["fr", "Bonjour\n"]);
      const report = await send(port, "GET", "/report", { "Accept-Encoding": "gzip, br" });
      expect(report.headers["content-encoding"]).toBe("br");
      const csv = brotliDecompressSync(report.body).toString();
      expect(csv.startsWith("day,visits\n1,919\n")).toBe(true);
      expect(csv.split("\n").length).toBe(367);
    } finally {
      proc.kill();
      if (proc.exitCode === null) await once(proc, "exit");
    }
  });
});
