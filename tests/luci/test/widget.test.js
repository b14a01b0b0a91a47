// The Status > Overview box (view/status/include/35_rail.js), driven the way
// luci-mod-status drives its includes: load(), then render(result).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createEnv } = require('../lib/luci-env');
const fixtures = require('../lib/fixtures');
const expect = require('../lib/expect');
const { text, rows, cell } = require('../lib/query');

async function widget(status) {
	const env = createEnv({ status });
	const include = env.require('view.status.include.35_rail');
	const node = env.document.createElement('div');
	node.appendChild(include.render(await include.load()));
	return { env, include, node };
}

test('has a title and asks rail status', async () => {
	const { env, include } = await widget(fixtures.status());
	assert.equal(include.title, 'Multi-WAN (rail)');
	assert.deepEqual(env.rpc.calls.map((c) => `${c.object}.${c.method}`), [ 'rail.status', 'rail.history' ]);
});

test('one line per uplink with state, uptime, mean RTT and mean loss over its targets', async () => {
	const st = fixtures.status();
	const { env, node } = await widget(st);
	const rail = env.require('rail');
	const trs = rows(node, 'rail-overview');
	assert.deepEqual(trs.map((tr) => tr.dataset.interface), Object.keys(st.interfaces));
	for (const tr of trs) {
		const ifc = st.interfaces[tr.dataset.interface];
		const answering = ifc.targets.filter((t) => t.rtt_ms != null).map((t) => t.rtt_ms);
		const loss = ifc.targets.length ? Math.round(expect.mean(ifc.targets.map((t) => t.loss)) * 10) / 10 : null;
		assert.deepEqual([ 'State', 'Uptime', 'RTT', 'Loss' ].map((t) => text(cell(tr, t))), [
			expect.label(ifc.state),
			ifc.uptime > 0 ? rail.duration(ifc.uptime) : '–',
			answering.length ? expect.ms(expect.mean(answering)) : '–',
			loss == null ? '–' : expect.percent(loss)
		], tr.dataset.interface);
		assert.ok(cell(tr, 'State').querySelector(`.rail-badge.rail-state-${ifc.state}`));
	}
	assert.equal(node.querySelector('a').getAttribute('href'), '/cgi-bin/luci/admin/status/rail');
});

test('mean RTT and loss on a known case', async () => {
	const st = fixtures.status();
	st.interfaces = { wan: Object.assign(Object.values(st.interfaces)[0], { targets: [
		{ ip: '198.18.0.1', state: 'up', rtt_ms: 10, jitter_ms: 1, loss: 0, sent: 10, received: 10 },
		{ ip: '198.18.0.2', state: 'up', rtt_ms: 15, jitter_ms: 1, loss: 10, sent: 10, received: 9 },
		{ ip: '198.18.0.3', state: 'down', rtt_ms: null, jitter_ms: null, loss: 100, sent: 10, received: 0 }
	] }) };
	const { node } = await widget(st);
	const tr = rows(node, 'rail-overview')[0];
	assert.equal(text(cell(tr, 'RTT')), '12.5 ms');
	assert.equal(text(cell(tr, 'Loss')), '36.7 %');
});

test('banner when every uplink lost every target, none otherwise', async () => {
	const calm = fixtures.status();
	calm.all_targets_lost = false;
	assert.equal((await widget(calm)).node.querySelector('.rail-banner'), null);
	const st = fixtures.status();
	st.all_targets_lost = true;
	const { node } = await widget(st);
	assert.match(text(node.querySelector('.rail-banner')), /keeps forwarding/);
	assert.doesNotMatch(text(node), /\bnull\b/);
});

test('daemon not running (ubus object missing) or answering with no document', async () => {
	assert.equal(text((await widget(undefined)).node), 'rail is not running');
	assert.equal(text((await widget(null)).node), 'rail is not running');
});

test('without the ACL read grant the box says so instead of "rail is not running"', async () => {
	const env = createEnv({ status: fixtures.status() });
	env.rpc.denied.add('rail.status');
	const include = env.require('view.status.include.35_rail');
	const node = env.document.createElement('div');
	node.appendChild(include.render(await include.load()));
	assert.ok(node.querySelector('.rail-denied'));
	assert.match(text(node), /Not permitted/);
});
