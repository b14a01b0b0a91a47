// The shared module (resources/rail.js): number formatting and rail's value syntax.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createEnv } = require('../lib/luci-env');

const rail = createEnv({}).require('rail');

test('durations: the largest unit and the next one', () => {
	const cases = [ [ 0, '0s' ], [ 42, '42s' ], [ 61, '1m 1s' ], [ 3600, '1h' ], [ 3601, '1h' ],
		[ 7384, '2h 3m' ], [ 90061, '1d 1h' ], [ null, '–' ], [ -1, '–' ] ];
	for (const [ secs, want ] of cases)
		assert.equal(rail.duration(secs), want, `duration(${secs})`);
});

test('bytes in binary units', () => {
	assert.equal(rail.bytes(0), '0 B');
	assert.equal(rail.bytes(1023), '1023 B');
	assert.equal(rail.bytes(1536), '1.5 KiB');
	assert.equal(rail.bytes(48213337), '46.0 MiB');
	assert.equal(rail.bytes(undefined), '–');
});

test('timestamps in local time', () => {
	assert.equal(rail.time(1763770000), '2025-11-22 00:06:40');
	assert.equal(rail.time(0), '–');
});

test('durations accept seconds with a fraction or milliseconds, nothing else', () => {
	for (const ok of [ '', '1', '0.2', '.5', '10', '200ms' ])
		assert.equal(rail.validateDuration('wan', ok), true, ok);
	for (const bad of [ 'abc', '1h', '-1', '0.2ms', '1 s', '1e3' ])
		assert.equal(typeof rail.validateDuration('wan', bad), 'string', bad);
});

test('mark mask: non-zero, 32-bit, one contiguous run of bits', () => {
	for (const ok of [ '0x3F000000', '0xff', '0x80000000', '0xFFFFFFFF', '256' ])
		assert.equal(rail.validateMarkMask('globals', ok), true, ok);
	for (const bad of [ '0', '0x0', '0x5', '0xF0F0', '0x100000000', 'mask', '-1' ])
		assert.equal(typeof rail.validateMarkMask('globals', bad), 'string', bad);
});

test('protocols: names or numbers 0-255', () => {
	for (const ok of [ 'all', 'tcp', 'udp', 'icmp', '47', '0', '255' ])
		assert.equal(rail.validateProto('r', ok), true, ok);
	for (const bad of [ 'sctp6', '256', 'TCP ' ])
		assert.equal(typeof rail.validateProto('r', bad), 'string', bad);
});

test('summary of an uplink: mean RTT of answering targets, mean loss of all', () => {
	const s = rail.summarize({ targets: [ { rtt_ms: 10, loss: 0 }, { rtt_ms: null, loss: 100 }, { rtt_ms: 20, loss: 50 } ] });
	assert.equal(s.rtt_ms, 15);
	assert.equal(s.loss, 50);
	const none = rail.summarize({ targets: [] });
	assert.equal(none.rtt_ms, null);
	assert.equal(none.loss, null);
});

test('the stylesheet is linked once into the page head', () => {
	const env = createEnv({});
	env.require('rail');
	env.require('view.status.include.35_rail');
	const links = env.document.head.querySelectorAll('link[rel=stylesheet]');
	assert.equal(links.length, 1);
	assert.equal(links[0].getAttribute('href'), '/luci-static/resources/view/rail/rail.css');
});
