import { conformance } from "./conformance.js";
import { scgiTransport } from "../helpers/scgi-client.js";

conformance(scgiTransport);
