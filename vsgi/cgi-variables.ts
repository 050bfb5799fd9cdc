/**
 * CGI variables as a backend decoded them: names and values in one flat list, in the order the
 * front server sent them.
 *
 * Why not an object: a front server sends twenty-odd variables per request and the request
 * reads about ten. Filling a dictionary-mode object (or a Map) per request was a tenth of the
 * FastCGI backend's time behind nginx, most of it hash tables for the garbage collector; a list
 * is one allocation, and a look-up is a scan of interned names compared by identity. The object
 * form (`toRecord`) is built only if the application asks for `req.environment`.
 */
export class CgiVariables {
  private readonly list: string[];
  private record: Readonly<Record<string, string>> | null = null;

  /** `list`: `[name, value, name, value, ...]`, a name possibly repeated. */
  constructor(list: string[] = []) {
    this.list = list;
  }

  /**
   * The variables of an object (`process.env`, a test's environment).
   *
   * @example CgiVariables.fromRecord({ REQUEST_METHOD: "GET" }).get("REQUEST_METHOD"); // "GET"
   */
  static fromRecord(env: Readonly<Record<string, string | undefined>>): CgiVariables {
    const list: string[] = [];
    for (const name in env) {
      const value = env[name];
      if (value !== undefined) list.push(name, value);
    }
    return new CgiVariables(list);
  }

  /** Adds a variable, after those already there (a repeated one is combined by `get`). */
  add(name: string, value: string): void {
    this.list.push(name, value);
  }

  /** Variables added, repeats counted. */
  get count(): number {
    return this.list.length / 2;
  }

  /**
   * How many variables have a name starting with `prefix`, repeats counted.
   *
   * @example new CgiVariables(["HTTP_A", "1", "PATH_INFO", "/", "HTTP_A", "2"]).countPrefixed("HTTP_"); // 2
   */
  countPrefixed(prefix: string): number {
    const list = this.list;
    let n = 0;
    for (let i = 0; i < list.length; i += 2) if (list[i]!.startsWith(prefix)) n++;
    return n;
  }

  /**
   * The value of a variable. One sent twice (nginx 1.22 and HAProxy send two HTTP_COOKIE) is
   * combined as HTTP combines repeated headers: `; ` for cookies, `, ` for other `HTTP_*`; of
   * other variables, the last one counts.
   *
   * @example new CgiVariables(["HTTP_COOKIE", "a=1", "HTTP_COOKIE", "b=2"]).get("HTTP_COOKIE"); // "a=1; b=2"
   */
  get(name: string): string | undefined {
    const list = this.list;
    const length = list.length;
    for (let i = 0; i < length; i += 2) {
      if (list[i] !== name) continue;
      let value = list[i + 1]!;
      for (let j = i + 2; j < length; j += 2) if (list[j] === name) value = combine(name, value, list[j + 1]!);
      return value;
    }
    return undefined;
  }

  /**
   * The variables as an object, repeats combined as `get` does; built once, frozen. HTTP_PROXY
   * is left out (httpoxy, CVE-2016-5385): it is a client's `Proxy:` header, which an application
   * handing these variables to a child process would make that child's HTTP proxy.
   */
  toRecord(): Readonly<Record<string, string>> {
    let record = this.record;
    if (record === null) {
      const env: Record<string, string> = Object.create(null);
      const list = this.list;
      for (let i = 0; i < list.length; i += 2) {
        const name = list[i]!;
        if (name === "HTTP_PROXY") continue;
        const previous = env[name];
        env[name] = previous === undefined ? list[i + 1]! : combine(name, previous, list[i + 1]!);
      }
      record = this.record = Object.freeze(env);
    }
    return record;
  }
}

function combine(name: string, previous: string, value: string): string {
  if (!name.startsWith("HTTP_")) return value;
  return previous + (name === "HTTP_COOKIE" ? "; " : ", ") + value;
}
