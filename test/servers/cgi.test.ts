import { conformance } from "./conformance.js";
import { cgiTransport } from "../helpers/cgi-client.js";

conformance(cgiTransport);
