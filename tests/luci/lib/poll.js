// Stand-in for LuCI's poll module: add(fn, interval) queues fn (an interval of 0 or none
// is LuCI's default of 5 s); LuCI's ticker runs every second and calls a function when the
// tick count is a multiple of its interval, but never while its previous call is still
// pending. `tick()` is one such second; `step()` ticks until every queued function has
// been due once (from a fresh queue: one round) and waits for what it started.
'use strict';

const DEFAULT_INTERVAL = 5;

function makePoll() {
	const poll = {
		queue: [],
		ticks: 0,
		add(fn, interval) {
			if (interval == null || interval <= 0)
				interval = DEFAULT_INTERVAL;
			if (typeof fn !== 'function' || isNaN(interval))
				throw new TypeError('Invalid argument to LuCI.poll.add()');
			if (poll.queue.some((e) => e.fn === fn))
				return false;
			poll.queue.push({ fn, interval: interval >>> 0, running: null });
			return true;
		},
		remove(fn) {
			const before = poll.queue.length;
			poll.queue = poll.queue.filter((e) => e.fn !== fn);
			return poll.queue.length !== before;
		},
		tick() {
			const started = [];
			for (const e of poll.queue) {
				if (poll.ticks % e.interval !== 0 || e.running)
					continue;
				e.running = Promise.resolve(e.fn()).finally(() => { e.running = null; });
				started.push(e.running);
			}
			poll.ticks++;
			return started;
		},
		async step() {
			const due = new Set(poll.queue);
			const started = [];
			while (due.size) {
				for (const e of due)
					if (poll.ticks % e.interval === 0)
						due.delete(e);
				started.push(...poll.tick());
			}
			await Promise.all(started);
		}
	};
	return poll;
}

module.exports = { makePoll };
