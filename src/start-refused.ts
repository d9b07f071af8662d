/** A start refused for a reason the operator can fix (configuration, a data dir or port in use): printed without a stack. */
export class StartRefused extends Error {}
