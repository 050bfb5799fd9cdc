/** Media types, parsed once for both layers: see `vsgi/media-type.ts` (`req.json()` reads its charset there too). */
export { parseMediaType, formatMediaType, isMultipartBoundary, MediaTypeError, type MediaType } from "../../vsgi/media-type.js";
