// Aborts and leaks, the full pass of issue 11: 10,000 clients per socket backend that go away in
// the middle of an upload or a download (`npm test` runs 1,000: test/servers/leaks.test.ts), and
// 100 CGI processes. What is checked: test/helpers/leak-suite.ts.
import { leakSuite } from "../helpers/leak-suite.js";

leakSuite(Number(process.env.LEAK_REQUESTS ?? 10000), 100);
