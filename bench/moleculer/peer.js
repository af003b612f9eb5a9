// Moleculer's side of bench/bench_peers.py: one broker per process, the
// brokers joined by Moleculer's TCP transporter (static addresses, no UDP
// discovery), JSON serializer, logging, metrics and tracing off.
//
//   node peer.js serve NODE PORT URLS [--math] [--subscribers FIRST COUNT EVENT]
//       host the "math" service (action add) and/or COUNT subscriber
//       services sub<FIRST>..., each handling the event EVENT; runs until
//       SIGTERM
//   node peer.js calls NODE PORT URLS CALLS CONCURRENCY
//       CONCURRENCY callers of math.add({a, b}); prints one JSON line
//   node peer.js publish NODE PORT URLS SECONDS FIRST COUNT EVENT
//       one publisher broadcasting EVENT for SECONDS (each
//       broadcast awaited, which is until it is written to the
//       transporter's sockets: Moleculer events are fire-and-forget);
//       deliveries are counted by the subscriber services sub<FIRST>...
//       and the rate is deliveries / (last delivery - first publish);
//       prints one JSON line.  With --acked, each publish is instead a call
//       of every subscriber's "receive" action, awaited together (what
//       micro's publish does: it returns when every subscriber answered)
//
// URLS: comma-separated host:port/nodeID of every node (the TCP
// transporter's "urls" option).  Moleculer resolves from NODE_PATH
// (bench/.peers/node_modules).

"use strict";

const { ServiceBroker } = require("moleculer");

const WARMUP = 300;
const [role, nodeID, port, urls, ...rest] = process.argv.slice(2);

function broker() {
	return new ServiceBroker({
		nodeID,
		namespace: "bench",
		transporter: {
			type: "TCP",
			options: { udpDiscovery: false, port: Number(port), urls: urls.split(","), useHostname: false }
		},
		logger: process.env.PEER_LOG ? console : false,
		metrics: false,
		tracing: false
	});
}

function now() {
	return performance.timeOrigin + performance.now(); // ms, comparable across processes
}

function subscriber(index, event) {
	let count = 0, first = 0, last = 0;
	function received() {
		last = now();
		if (count++ === 0) first = last;
		return last;
	}
	return {
		name: `sub${index}`,
		events: { [event]: received },
		actions: {
			receive: received,
			stats: () => ({ count, first, last }),
			reset() {
				count = 0;
				first = last = 0;
				return true;
			}
		}
	};
}

async function serve() {
	const b = broker();
	if (rest.includes("--math")) {
		b.createService({ name: "math", actions: { add: ctx => ctx.params.a + ctx.params.b } });
	}
	const at = rest.indexOf("--subscribers");
	if (at >= 0) {
		const first = Number(rest[at + 1]), count = Number(rest[at + 2]), event = rest[at + 3];
		for (let k = first; k < first + count; k++) b.createService(subscriber(k, event));
	}
	await b.start();
	process.on("SIGTERM", () => b.stop().then(() => process.exit(0), () => process.exit(1)));
	console.log(JSON.stringify({ serving: nodeID }));
}

async function calls(total, concurrency) {
	const b = broker();
	await b.start();
	await b.waitForServices("math", 30000);
	for (let n = 0; n < WARMUP; n++) await b.call("math.add", { a: n, b: 1 });
	const latencies = [];
	async function worker(count) {
		for (let n = 0; n < count; n++) {
			const started = process.hrtime.bigint();
			const sum = await b.call("math.add", { a: n, b: 1 });
			latencies.push(Number(process.hrtime.bigint() - started) / 1e3);
			if (sum !== n + 1) throw new Error(`math.add(${n}, 1) = ${sum}`);
		}
	}
	const started = process.hrtime.bigint();
	await Promise.all(Array.from({ length: concurrency }, () => worker(Math.floor(total / concurrency))));
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	await b.stop();
	latencies.sort((x, y) => x - y);
	const done = latencies.length;
	return {
		calls: done, seconds, rate: done / seconds,
		mean_us: latencies.reduce((s, x) => s + x, 0) / done,
		p50_us: latencies[Math.floor(done / 2)], p99_us: latencies[Math.floor(done * 0.99)]
	};
}

async function counted(b, names) {
	const stats = await Promise.all(names.map(name => b.call(`${name}.stats`)));
	return {
		count: stats.reduce((s, x) => s + x.count, 0),
		last: Math.max(...stats.map(x => x.last))
	};
}

// Wait (at most 30 s, and 3 s without progress) until `expected` deliveries are counted.
async function settle(b, names, expected) {
	const deadline = Date.now() + 30000;
	let seen = await counted(b, names), progress = Date.now();
	while (seen.count < expected && Date.now() < deadline && Date.now() - progress < 3000) {
		await new Promise(resolve => setTimeout(resolve, 50));
		const next = await counted(b, names);
		if (next.count > seen.count) progress = Date.now();
		seen = next;
	}
	return seen;
}

async function publish(seconds, first, subscribers, event, acked) {
	const b = broker();
	await b.start();
	const names = Array.from({ length: subscribers }, (_, k) => `sub${first + k}`);
	await b.waitForServices(names, 30000);
	const send = acked
		? message => Promise.all(names.map(name => b.call(`${name}.receive`, message)))
		: message => b.broadcast(event, message);
	for (let n = 0; n < WARMUP / 4; n++) await send({ n });
	await settle(b, names, (WARMUP / 4) * subscribers);
	await Promise.all(names.map(name => b.call(`${name}.reset`)));
	let publishes = 0;
	const started = now(), until = started + seconds * 1000;
	while (now() < until) await send({ n: publishes++ });
	const sent = now();
	const seen = await settle(b, names, publishes * subscribers);
	await b.stop();
	return {
		publishes, deliveries: seen.count, errors: publishes * subscribers - seen.count,
		publish_rate: publishes / ((sent - started) / 1000),
		delivery_rate: seen.count / ((seen.last - started) / 1000)
	};
}

async function main() {
	if (role === "serve") return serve();
	const result = role === "calls"
		? await calls(Number(rest[0]), Number(rest[1]))
		: await publish(Number(rest[0]), Number(rest[1]), Number(rest[2]), rest[3], rest[4] === "--acked");
	console.log(JSON.stringify(result));
	process.exit(0);
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
