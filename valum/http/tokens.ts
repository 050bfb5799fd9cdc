/** The HTTP token and quoted-string rules, shared with the gateway layer: see `vsgi/tokens.ts`. */
export { isToken, quoteString, splitList, unquoteString } from "../../vsgi/tokens.js";
