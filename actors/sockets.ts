/**
 * Socket ids. A single server counts its sockets from 1. A cluster node numbers them above `TAGGED`: its node's tag
 * (from its node id, the same across restarts), then a random number drawn each run, then a count. So socket ids
 * are unique in the cluster, and an agent can tell which of its sockets were a node's: when that node starts again,
 * those alone are gone (`presenceReset`), while its sockets on other nodes stay open.
 */
const COUNT = 2 ** 21;
/** Runs drawn from this many (a run's count, past 2 million sockets, spills into the run numbers above it). */
export const RUNS = 2 ** 14;
const RUN_SPAN = 2 ** 15;
const TAGGED = 2 ** 52;
/** Node tags run from 1 to NODE_TAGS - 1. */
export const NODE_TAGS = 2 ** 16;

/** The first socket id a node numbers in a run. */
export function firstSocketId(nodeTag: number, run: number): number {
  return TAGGED + (nodeTag * RUN_SPAN + run) * COUNT + 1;
}

/** The tag of the node that numbered a socket; undefined when not numbered so (a single server, or an earlier version). */
export function nodeTagOfSocket(socket: number): number | undefined {
  return socket >= TAGGED ? Math.floor((socket - TAGGED) / (COUNT * RUN_SPAN)) : undefined;
}
