/**
 * The systeminformation package as its own bundle, dist/sitelink-sysinfo.mjs
 * (scripts/bundle.mjs): sitelinkd and sitelinkctl import it on the first health
 * request. Inside their bundles the module text would be parsed at start and
 * kept in the V8 heap (~60% of the code) even though it never runs (issue 10).
 */
export { default } from 'systeminformation';
