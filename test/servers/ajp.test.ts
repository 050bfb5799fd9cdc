import { conformance } from "./conformance.js";
import { ajpTransport } from "../helpers/ajp-client.js";

conformance(ajpTransport);
