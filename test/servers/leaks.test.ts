// Aborts and leaks, a short pass: 1,000 clients per backend that go away mid-transfer (the
// interop suite runs 10,000: test/interop/leaks.test.ts). What is checked: test/helpers/leak-suite.ts.
import { leakSuite } from "../helpers/leak-suite.js";

leakSuite(Number(process.env.LEAK_REQUESTS ?? 1000), 6);
