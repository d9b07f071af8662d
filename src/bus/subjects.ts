/** Every NATS subject and bucket name the cluster uses, spelled once. Version 1 of the cluster's wire. */

/** The JetStream stream of the partitions' turn-log records, and one partition's subject in it. */
export const LOG_STREAM = 'DESK_LOG';
export const LOG_SUBJECTS = 'desk.v1.log.*';
export const logSubject = (partition: number): string => `desk.v1.log.${partition}`;

/** The KV bucket of partition leases and node heartbeats. */
export const LEASE_BUCKET = 'desk-leases';
/** A node handing its partitions over says so here (one subject per lease bucket): the others run a round at once. */
export const handOverSubject = (bucket: string): string => `desk.v1.handover.${bucket}`;

/** Commands for the actors of one partition: the node that owns it listens. */
export const commandSubject = (partition: number): string => `desk.v1.cmd.${partition}`;

/** Messages for one node (replies to calls it made); node ids may hold dots. */
export const nodeSubject = (nodeId: string): string => `desk.v1.node.${Buffer.from(nodeId).toString('base64url')}`;

/** The KV bucket of the apps' models (members, groups, accounts, settings), one key per app. */
export const APPS_BUCKET = 'desk-apps';
export const appKey = (sdkAppId: number): string => `app.${sdkAppId}`;

/** The KV bucket of the robots' knowledge (knowledge-base rows, category id blocks, seeding claims). */
export const KNOWLEDGE_BUCKET = 'desk-knowledge';

/** Pushes for one recipient's sockets: the nodes holding a socket of it listen (ids may hold dots). */
export const pushSubject = (role: string, app: number, id: string): string => `desk.v1.push.${role}.${app}.${Buffer.from(id).toString('base64url')}`;
