// Message builders: typed inputs -> payload lists for main mode, quick mode
// and informational exchanges. Encoding (encodeMessage / encodePayloads),
// hashing and encryption are separate steps owned by their callers.

export * from './build-common.ts';
export * from './build-main-mode.ts';
export * from './build-quick-mode.ts';
export * from './build-informational.ts';
