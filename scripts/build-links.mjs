// @consent-edge/links builds itself: packages/links/scripts/build.mjs (`npm run build` at the root
// runs it through the workspace). This name stays for the benchmarks that build the signer before
// importing it: `buildLinks({ types })` answers `{ js, dts }`, the paths in packages/links/dist/.
export { build as buildLinks } from "../packages/links/scripts/build.mjs";
