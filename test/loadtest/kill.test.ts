/**
 * The chat scenario on a cluster of three nodes with one stopped a third of the way through, at a small size: killed
 * (SIGKILL, a lost machine), the issue's failover test, and drained (SIGTERM, a rolling restart's step: the node hands
 * its partitions over while it still serves, then closes its sockets). At full size:
 * `npm run loadtest -- chat --nodes 3 --kill` (or `--drain`).
 */
import t from 'tap';
import { chat } from '../../loadtest/scenarios/chat';
import { defaults } from '../../loadtest/scenarios/common';
import { main } from '../../loadtest/cli';

// Three nodes, a nats-server and the clients on two cores: up to a minute for the conversations, then the report; twice.
t.setTimeout(400_000);

for (const [signal, stopped] of [['SIGKILL', 'killed'], ['SIGTERM', 'drained']] as const) {
  t.test(`chat on a cluster of three nodes, one ${stopped} (${signal}) a third of the way: its clients go on at the others`, async (t) => {
    const users = 18;
    const c = await chat({ ...defaults, users, agents: 3, messages: 3, fsync: 'none', nodes: 3, kill: signal, baseline: false });
    const kill = c.extra?.kill as { signal: string; reconnects: number; all_served_after_s: number | null; takeovers: number };
    const log = (c.extra?.cluster as { log: { restarts: number; problems: string[] } }).log;
    t.equal(kill.signal, signal);
    t.equal(c.lost, 0, 'no acknowledged message lost');
    t.equal(c.messages, c.sent, 'every message sent was delivered');
    t.equal(c.extra?.rated, users, `every conversation went the whole way${c.extra?.unfinished ? ` (unfinished, by step: ${JSON.stringify(c.extra.unfinished)})` : ''}`);
    t.equal(c.extra?.double_assigned, 0, 'no session was assigned to two agents');
    t.ok(Number(c.extra?.max_sessions_per_agent) <= Number(c.extra?.limit_per_agent), `no agent held more sessions than its limit (${c.extra?.max_sessions_per_agent} of ${c.extra?.limit_per_agent})`);
    t.ok(kill.reconnects > 0, `the ${stopped} node's clients connected to the others (${kill.reconnects} reconnections)`);
    t.ok(kill.all_served_after_s !== null && kill.takeovers > 0, `its partitions were taken over (all served again ${kill.all_served_after_s} s after ${signal})`);
    t.equal(log.restarts, 0, 'no actor started again without its state');
    t.same(log.problems, [], "each actor's turns are in its partition's log once each, in order");
    const each = users * 3;
    t.same(c.extra?.statistics, { sessions: users, accepted: users, rated: users, agent_msgs: each, user_msgs: each, nodes_agree: true },
      `the nodes left count the whole run in their statistics, the ${stopped} node's turns included, as one node does`);
  });
}

t.test('--kill and --drain are for chat on a cluster, one at a time', async (t) => {
  await t.rejects(main(['chat', '--kill']), /--kill applies to chat on a cluster/);
  await t.rejects(main(['chat', '--drain']), /--drain applies to chat on a cluster/);
  await t.rejects(main(['chat', '--nodes', '3', '--kill', '--drain']), /--kill or --drain, not both/);
});
