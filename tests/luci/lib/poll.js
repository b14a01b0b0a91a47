// Stand-in for LuCI's poll module: add(fn, interval) queues fn; `step()` runs one round
// of every queued function (as LuCI's 1-second ticker does when its interval is due).
'use strict';

function makePoll() {
	const poll = {
		queue: [],
		add(fn, interval) {
			if (typeof fn !== 'function' || isNaN(interval))
				throw new TypeError('Invalid argument to LuCI.poll.add()');
			if (poll.queue.some((e) => e.fn === fn))
				return false;
			poll.queue.push({ fn, interval: interval >>> 0 });
			return true;
		},
		remove(fn) {
			const before = poll.queue.length;
			poll.queue = poll.queue.filter((e) => e.fn !== fn);
			return poll.queue.length !== before;
		},
		step() {
			return Promise.all(poll.queue.map((e) => e.fn()));
		}
	};
	return poll;
}

module.exports = { makePoll };
