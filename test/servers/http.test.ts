import { conformance } from "./conformance.js";
import { httpTransport } from "../helpers/http-client.js";

conformance(httpTransport);
