import { conformance } from "./conformance.js";
import { fastcgiTransport } from "../helpers/fastcgi-client.js";

conformance(fastcgiTransport("keep-conn"));
conformance(fastcgiTransport("per-request"));
conformance(fastcgiTransport("multiplexed"));
