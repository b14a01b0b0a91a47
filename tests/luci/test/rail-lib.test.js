// The shared module (resources/rail.js): number formatting and rail's value syntax.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
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

// The same corpus tests/luci/main.rs checks against rail's config reader, so the pages
// accept exactly what the daemon will. An empty field is no value (the option is removed).
const corpus = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/values.json'), 'utf8'));

test('durations: exactly the texts rail reads as durations, in milliseconds', () => {
	for (const ok of corpus.duration.accept)
		assert.notEqual(rail.parseDuration(ok), null, ok);
	for (const bad of corpus.duration.reject)
		assert.equal(rail.parseDuration(bad), null, bad);
	const cases = [ [ '1', 1000 ], [ '0.2', 200 ], [ '.5', 500 ], [ '200ms', 200 ], [ '1.5s', 1500 ],
		[ '2m', 120000 ], [ '1h', 3600000 ], [ '0.5ms', 0.5 ] ];
	for (const [ text, ms ] of cases)
		assert.equal(rail.parseDuration(text), ms, text);
});

test('duration options: inside the allowed range only', () => {
	const v = rail.durationIn('10ms', '1h');
	for (const ok of [ '', '10ms', '0.01', '1', '1h', '59m' ])
		assert.equal(v('wan', ok), true, ok);
	for (const bad of [ '9ms', '0', '1.5h', '61m', 'soon' ])
		assert.equal(typeof v('wan', bad), 'string', bad);
	assert.match(v('wan', '2h'), /from 10ms to 1h/);
});

test('mark mask: exactly what rail reads as a mask', () => {
	for (const ok of corpus.mask.accept)
		assert.equal(rail.validateMarkMask('globals', ok), true, ok);
	for (const bad of corpus.mask.reject.filter((v) => v !== ''))
		assert.equal(typeof rail.validateMarkMask('globals', bad), 'string', bad);
});

test('protocols: exactly what rail reads as a protocol', () => {
	for (const ok of corpus.proto.accept)
		assert.equal(rail.validateProto('r', ok), true, ok);
	for (const bad of corpus.proto.reject.filter((v) => v !== ''))
		assert.equal(typeof rail.validateProto('r', bad), 'string', bad);
});

test('rates: exactly what rail reads as a rate, within the range', () => {
	const v = rail.rateIn(corpus.rate.min, corpus.rate.max);
	for (const ok of corpus.rate.accept)
		assert.equal(v('wan', ok), true, ok);
	for (const bad of corpus.rate.reject.filter((x) => x !== ''))
		assert.equal(typeof v('wan', bad), 'string', bad);
	assert.equal(rail.parseRate('20mbit'), 20000);
	assert.equal(rail.parseRate('1.5Gbit'), 1500000);
});

test('hook paths: absolute', () => {
	for (const ok of [ '', '/etc/rail.user', '/usr/bin/notify-wan' ])
		assert.equal(rail.validatePath('g', ok), true, ok);
	for (const bad of [ 'rail.user', '/etc/', 'sh -c x', '/a b' ])
		assert.equal(typeof rail.validatePath('g', bad), 'string', bad);
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
