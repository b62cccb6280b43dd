/**
 * Switches an instance from its "old" appserver to a "new" one under load,
 * through a real HAProxy in master-worker mode and the same apply script the
 * remote command runs, and counts what the clients saw.
 *
 *   npx tsx bench/lb-switch.ts                 the switch
 *   npx tsx bench/lb-switch.ts --fail-build    the new build fails: no switch; a broken
 *                                              fragment is also tried and must be refused
 * Options: --before <s> (default 4), --after <s> (4), --fresh <n> clients opening a
 * connection per request (8), --keepalive <n> clients reusing one connection (8).
 *
 * Ends with one line: `requests <n>, failed <n>, last old answer <ms> ms after the switch`
 * ("the switch" is the moment the apply starts). A request fails when it gets no
 * complete answer, a status other than 200, a body other than "old"/"new", or an
 * "old" answer once the apply has returned (the old appserver could then be removed).
 * Exit status 0 when the goal is met (>= 5,000 requests, 0 failed, and for the
 * switch: answers after it come from "new"; for --fail-build: none from "new").
 */
import { Agent } from "node:http";
import { parseArgs } from "node:util";
import { renderHaproxyFragment, type HaproxyServer } from "../components/haproxy";
import { applyRequest } from "../components/load-balancer";
import { httpGet, LocalHaproxy, loadOptions, runApplyScript, startClients, startNamedBackend, type NamedBackend } from "./local-haproxy";

const INSTANCE = "bench";
const DOMAINS = ["lms.bench.test", "studio.bench.test"];

interface Tally {
  requests: number;
  failed: number;
  old: number;
  new: number;
  lastOldAt: number;
  firstNewAt: number;
  errors: Map<string, number>;
}

function fragmentFor(backend: NamedBackend | undefined): string {
  const servers: HaproxyServer[] = backend ? [{ name: backend.name, address: "127.0.0.1", port: backend.port }] : [];
  return applyRequest(INSTANCE, renderHaproxyFragment({ instanceId: INSTANCE, domains: DOMAINS, servers, preliminaryBackend: "openedx-im-preliminary" }));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      "fail-build": { type: "boolean", default: false },
      before: { type: "string", default: "4" },
      after: { type: "string", default: "4" },
      ...loadOptions(8, 8),
    },
  });
  const failBuild = values["fail-build"] === true;
  const beforeMs = Number(values.before) * 1000;
  const afterMs = Number(values.after) * 1000;

  const lb = await LocalHaproxy.start({ hardStopAfterSeconds: 30, prefix: "openedx-im-lb-bench-" });
  const oldBackend = await startNamedBackend("old");
  const newBackend = await startNamedBackend("new");
  const agents: Agent[] = [];
  try {
    const first = await runApplyScript("apply", fragmentFor(oldBackend), lb.env());
    if (first.status !== 0) throw new Error(`initial apply failed:\n${first.stderr}`);

    const tally: Tally = { requests: 0, failed: 0, old: 0, new: 0, lastOldAt: 0, firstNewAt: 0, errors: new Map() };
    let switchStartedAt = Number.POSITIVE_INFINITY;
    let switchEndedAt = Number.POSITIVE_INFINITY;
    let running = true;
    const fail = (why: string) => {
      tally.failed += 1;
      tally.errors.set(why, (tally.errors.get(why) ?? 0) + 1);
    };

    const client = async (index: number, agent: Agent | false) => {
      const host = DOMAINS[index % DOMAINS.length];
      while (running) {
        tally.requests += 1;
        try {
          const answer = await httpGet(`${lb.url}/`, host, { agent });
          const at = Date.now();
          if (answer.status !== 200) fail(`status ${answer.status}`);
          else if (answer.body === "old") {
            tally.old += 1;
            tally.lastOldAt = Math.max(tally.lastOldAt, at);
            if (at > switchEndedAt) fail("old answer after the apply returned");
          } else if (answer.body === "new") {
            tally.new += 1;
            if (!tally.firstNewAt) tally.firstNewAt = at;
          } else fail(`unexpected body ${JSON.stringify(answer.body.slice(0, 40))}`);
        } catch (error) {
          fail((error as Error).message);
        }
      }
    };

    const clients = startClients(values, () => new Agent({ keepAlive: true, maxSockets: 1 }), agents, client);

    await new Promise((done) => setTimeout(done, beforeMs));
    switchStartedAt = Date.now();
    if (failBuild) {
      // The new appserver's build fails: its health check never passes, so the
      // engine never runs the apply with it. Worst case, a broken fragment reaches
      // the apply script anyway: it must be refused and change nothing.
      const broken = fragmentFor(newBackend).replace("balance roundrobin", "balance nowhere");
      const refused = await runApplyScript("apply", broken, lb.env());
      console.log(`failed build: apply of a broken fragment exited ${refused.status} in ${refused.milliseconds} ms (${refused.status === 1 ? "refused" : "NOT refused"})`);
      if (refused.status !== 1) fail("broken fragment was not refused");
    } else {
      const switched = await runApplyScript("apply", fragmentFor(newBackend), lb.env());
      switchEndedAt = Date.now();
      console.log(`switch: apply exited ${switched.status} after ${switched.milliseconds} ms (${switched.stderr.trim().split("\n").pop()?.replace(/^openedx-im-lb-apply: /, "")})`);
      if (switched.status !== 0) {
        console.log(switched.stderr);
        fail("apply failed");
      }
    }
    await new Promise((done) => setTimeout(done, afterMs));
    running = false;
    await Promise.all(clients);

    for (const [why, count] of tally.errors) console.log(`  ${count} x ${why}`);
    console.log(
      `answers: ${tally.old} old, ${tally.new} new; first new ${tally.firstNewAt ? tally.firstNewAt - switchStartedAt : "-"} ms after the switch; old appserver served ${oldBackend.served}, new ${newBackend.served}`,
    );
    const lastOld = tally.lastOldAt - switchStartedAt;
    console.log(`requests ${tally.requests}, failed ${tally.failed}, last old answer ${lastOld} ms after the switch`);
    const goal = tally.requests >= 5000 && tally.failed === 0 && (failBuild ? tally.new === 0 : tally.lastOldAt <= switchEndedAt && tally.new > 0);
    return goal ? 0 : 1;
  } finally {
    for (const agent of agents) agent.destroy();
    await lb.stop();
    await oldBackend.close();
    await newBackend.close();
  }
}

main().then(
  (status) => process.exit(status),
  (error: Error) => {
    console.error(`lb-switch: ${error.stack ?? error.message}`);
    process.exit(2);
  },
);
