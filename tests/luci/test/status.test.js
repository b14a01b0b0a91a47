// The status page (view/rail/status.js) rendered from a `rail status --json` document:
// every value checked against the fixture, whatever the fixture holds.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createEnv } = require('../lib/luci-env');
const fixtures = require('../lib/fixtures');
const expect = require('../lib/expect');
const { text, rows, cell } = require('../lib/query');

async function render(status) {
	const env = createEnv({ status, uci: fixtures.uci() });
	const view = await env.renderView('view.rail.status');
	return { env, view };
}

const badgeState = (node) => [ ...node.querySelector('.rail-badge').classList ]
	.find((c) => c.startsWith('rail-state-')).slice('rail-state-'.length);

test('asks ubus rail status, once, for the first render (and rail history for the charts)', async () => {
	const { env } = await render(fixtures.status());
	assert.deepEqual(env.rpc.calls.map((c) => `${c.object}.${c.method}`), [ 'rail.status', 'rail.history' ]);
});

test('one uplink row per interface, in the daemon order, with badge, since, uptime, flows, bytes, reason', async () => {
	const st = fixtures.status();
	const { env, view } = await render(st);
	const rail = env.require('rail');
	const trs = rows(view, 'rail-uplinks');
	assert.deepEqual(trs.map((tr) => tr.dataset.interface), Object.keys(st.interfaces));

	for (const tr of trs) {
		const ifc = st.interfaces[tr.dataset.interface];
		const where = tr.dataset.interface;
		assert.equal(badgeState(cell(tr, 'State')), ifc.state, where);
		assert.equal(text(cell(tr, 'State')), expect.label(ifc.state), where);
		assert.equal(text(cell(tr, 'Uplink').querySelector('strong')), where);
		assert.equal(text(cell(tr, 'Uplink').querySelector('small')),
			[ ifc.device, ifc.address, ifc.address6 ].filter((x) => x).join(' · '), where);
		assert.equal(text(cell(tr, 'Since')), expect.time(ifc.since), where);
		assert.equal(text(cell(tr, 'Uptime')), ifc.uptime > 0 ? rail.duration(ifc.uptime) : '–', where);
		assert.equal(text(cell(tr, 'Flows')), String(ifc.flows), where);
		assert.equal(text(cell(tr, 'Sent')), rail.bytes(ifc.tx_bytes), where);
		assert.equal(text(cell(tr, 'Reason')), ifc.reason, where);
	}
});

test('passive evidence: counts, a confirming round and the last suspicion under the reason, only where on', async () => {
	const st = fixtures.status();
	const [ on, off ] = Object.keys(st.interfaces);
	st.interfaces[on].passive = { opened: 120, answered: 117, confirming: true,
		suspicion: '3 new connections to 3 destinations unanswered for 0.2 s' };
	const { view } = await render(st);
	const reason = (name) => cell(rows(view, 'rail-uplinks').find((tr) => tr.dataset.interface == name), 'Reason');
	assert.equal(text(reason(on).querySelector('.rail-reason')), st.interfaces[on].reason);
	assert.equal(text(reason(on).querySelector('.rail-passive')),
		'Passive: 120 new connections, 117 answered; confirming; last suspect: ' +
		'3 new connections to 3 destinations unanswered for 0.2 s');
	assert.equal(reason(off).querySelector('.rail-passive'), null);
	assert.equal(text(reason(off)), st.interfaces[off].reason);

	st.interfaces[on].passive = { opened: 5, answered: 5, confirming: false };
	const again = (await render(st)).view;
	const tr = rows(again, 'rail-uplinks').find((r) => r.dataset.interface == on);
	assert.equal(text(cell(tr, 'Reason').querySelector('.rail-passive')), 'Passive: 5 new connections, 5 answered');
});

test('every state of the contract gets its own badge colour; an unknown one is marked unknown', async () => {
	const st = fixtures.status();
	const states = [ 'up', 'suspect', 'down', 'recovering', 'disabled', 'no-device', 'maintenance', 'bogus' ];
	const template = Object.values(st.interfaces)[0];
	st.interfaces = Object.fromEntries(states.map((s, i) =>
		[ 'u' + i, Object.assign({}, template, { state: s, targets: [] }) ]));
	const { view } = await render(st);
	const trs = rows(view, 'rail-uplinks');
	assert.deepEqual(trs.map((tr) => badgeState(cell(tr, 'State'))),
		[ 'up', 'suspect', 'down', 'recovering', 'disabled', 'no-device', 'maintenance', 'unknown' ]);
	assert.equal(text(cell(trs[5], 'State')), 'No device');
	assert.equal(text(cell(trs[7], 'State')), 'bogus', 'an unknown state is shown as it came');
});

test('probe targets: state, RTT, jitter, loss and replies per target of each uplink', async () => {
	const st = fixtures.status();
	const { view } = await render(st);
	const trs = rows(view, 'rail-targets');
	const want = Object.entries(st.interfaces).flatMap(([ name, ifc ]) => ifc.targets.map((t) => [ name, t ]));
	assert.equal(trs.length, want.length);

	want.forEach(([ name, t ], i) => {
		const tr = trs[i], where = `${name}/${t.ip}`;
		assert.equal(tr.dataset.interface, name);
		assert.equal(text(cell(tr, 'Target')), t.ip, where);
		assert.equal(badgeState(cell(tr, 'State')), t.state, where);
		assert.equal(text(cell(tr, 'RTT')), expect.ms(t.rtt_ms), where);
		assert.equal(text(cell(tr, 'Jitter')), expect.ms(t.jitter_ms), where);
		assert.equal(text(cell(tr, 'Loss')), expect.percent(t.loss), where);
		assert.equal(cell(tr, 'Loss').querySelector('.rail-loss') !== null, t.loss > 0, `${where} loss highlight`);
		assert.equal(text(cell(tr, 'Replies')), `${t.received} / ${t.sent}`, where);
	});
});

test('per uplink, the policies that send it new connections now and its share, or none', async () => {
	const st = fixtures.status();
	const { view } = await render(st);
	const carried = (name) => Object.entries(st.policies).flatMap(([ p, pol ]) => [
		...pol.active.filter((m) => m.interface == name).map((m) => `${p} ${m.percent} %`),
		...(pol.active6 || []).filter((m) => m.interface == name).map((m) => `${p} (IPv6) ${m.percent} %`) ]);
	const seen = rows(view, 'rail-uplinks').map((tr) => [ tr.dataset.interface,
		[ ...cell(tr, 'New connections').querySelectorAll('.rail-carries') ].map(text) ]);
	assert.deepEqual(seen, Object.keys(st.interfaces).map((n) => [ n, carried(n) ]));
	assert.ok(seen.some(([ , c ]) => c.length > 0), 'the fixture has an uplink carrying traffic');
	const idle = rows(view, 'rail-uplinks').find((tr) => !carried(tr.dataset.interface).length);
	assert.ok(idle, 'the fixture has an uplink carrying nothing');
	assert.equal(text(cell(idle, 'New connections')), 'none');
});

test('a target with no probe result in the window yet: "No data" and no loss figure', async () => {
	const st = fixtures.status();
	const name = Object.keys(st.interfaces)[0];
	Object.assign(st.interfaces[name].targets[0], { state: 'unknown', rtt_ms: null, jitter_ms: null, loss: 0 });
	const { view } = await render(st);
	const tr = rows(view, 'rail-targets')[0];
	assert.equal(text(cell(tr, 'State')), 'No data');
	assert.equal(text(cell(tr, 'Loss')), '–');
});

test('policy shares: members with their percent and bar width, or the last resort when none is up', async () => {
	const st = fixtures.status();
	const { view } = await render(st);
	const trs = rows(view, 'rail-policies');
	assert.deepEqual(trs.map((tr) => tr.dataset.policy), Object.keys(st.policies));

	for (const tr of trs) {
		const pol = st.policies[tr.dataset.policy];
		const shares = [ ...tr.querySelectorAll('.rail-share') ].map((s) => [
			s.dataset.member, text(s.querySelector('.rail-share-label strong')),
			text(s.querySelector('.rail-share-percent')),
			s.querySelector('.cbi-progressbar > div').getAttribute('style')
		]);
		assert.deepEqual(shares, pol.active.map((m) =>
			[ m.member, m.interface, `${m.percent} %`, `width:${m.percent}%` ]), tr.dataset.policy);
		// LuCI's themes print a progress bar's title on the bar: the share would show twice.
		assert.equal(tr.querySelector('.cbi-progressbar[title]'), null);
		assert.equal(text(cell(tr, 'Last resort')), pol.last_resort);
		if (!pol.active.length)
			assert.equal(text(cell(tr, 'New connections go to')), `No uplink available: last resort is ${pol.last_resort}`);
	}
});

test('recent transitions: newest first, with both states and the reason', async () => {
	const st = fixtures.status();
	const { view } = await render(st);
	const trs = rows(view, 'rail-transitions');
	// oldest first from the daemon: newest first here, also within one second
	const want = st.transitions.map((t, i) => [ t, i ])
		.sort(([ a, i ], [ b, j ]) => (b.time - a.time) || (j - i)).map(([ t ]) => t).slice(0, 20);
	assert.equal(trs.length, want.length);
	want.forEach((tr, i) => {
		const row = trs[i];
		assert.equal(text(cell(row, 'Time')), expect.time(tr.time));
		assert.equal(text(cell(row, 'Uplink')), tr.interface);
		assert.equal(text(cell(row, 'Change')), `${expect.label(tr.from)} → ${expect.label(tr.to)}`);
		const badges = [ ...cell(row, 'Change').querySelectorAll('.rail-badge') ];
		assert.deepEqual(badges.map((b) => b.className), [ tr.from, tr.to ].map((s) => `rail-badge rail-state-${s}`));
		assert.equal(text(cell(row, 'Reason')), tr.reason);
	});
});

test('transitions within the same second keep the daemon order, newest first', async () => {
	const st = fixtures.status();
	const name = Object.keys(st.interfaces)[0];
	st.transitions = [ [ 'up', 'suspect', 'first' ], [ 'suspect', 'up', 'second' ], [ 'up', 'suspect', 'third' ] ]
		.map(([ from, to, reason ]) => ({ time: 1763770000, interface: name, from, to, reason }));
	const { view } = await render(st);
	assert.deepEqual(rows(view, 'rail-transitions').map((tr) => text(cell(tr, 'Reason'))), [ 'third', 'second', 'first' ]);
});

test('at most 20 transitions are listed, the most recent ones', async () => {
	const st = fixtures.status();
	const name = Object.keys(st.interfaces)[0];
	st.transitions = Array.from({ length: 50 }, (_, i) =>
		({ time: 1763770000 + i, interface: name, from: 'up', to: 'down', reason: 'r' + i }));
	const { view } = await render(st);
	const trs = rows(view, 'rail-transitions');
	assert.equal(trs.length, 20);
	assert.equal(text(cell(trs[0], 'Reason')), 'r49');
	assert.equal(text(cell(trs[19], 'Reason')), 'r30');
});

test('the all-targets-lost banner shows only when the daemon says so', async () => {
	const calm = fixtures.status();
	calm.all_targets_lost = false;
	assert.equal((await render(calm)).view.querySelector('.rail-banner'), null);

	const lost = fixtures.status();
	lost.all_targets_lost = true;
	const { view } = await render(lost);
	const banner = view.querySelector('.rail-banner');
	assert.ok(banner, 'banner rendered');
	assert.match(text(banner), /Every uplink lost every probe target/);
	assert.match(text(banner), /keeps forwarding/);
});

test('polling every 5 s re-renders from the new status', async () => {
	const { env, view } = await render(fixtures.status());
	assert.equal(env.poll.queue.length, 2, 'the status, and the charts');
	assert.equal(env.poll.queue[0].interval, 5);

	const next = fixtures.status();
	const name = Object.keys(next.interfaces)[0];
	next.interfaces[name].state = 'maintenance';
	next.interfaces[name].reason = 'taken out of service over ubus';
	next.all_targets_lost = true;
	env.status = next;
	await env.poll.step();

	const first = rows(view, 'rail-uplinks')[0];
	assert.equal(text(cell(first, 'State')), 'Maintenance');
	assert.equal(text(cell(first, 'Reason')), 'taken out of service over ubus');
	assert.ok(view.querySelector('.rail-banner'));
	assert.equal(view.querySelectorAll('table.rail-uplinks').length, 1, 'replaced, not appended');
	assert.equal(env.rpc.calls.filter((c) => c.method == 'status').length, 2);
});

test('the page follows the daemon stopping and starting again', async () => {
	const { env, view } = await render(fixtures.status());
	env.status = undefined;
	await env.poll.step();
	assert.ok(view.querySelector('.rail-absent'));
	assert.equal(view.querySelector('table'), null);
	env.status = fixtures.status();
	await env.poll.step();
	assert.equal(view.querySelector('.rail-absent'), null);
	assert.equal(rows(view, 'rail-uplinks').length, Object.keys(env.status.interfaces).length);
});

test('maintenance: a button per uplink calls ubus rail maintenance and shows the new state', async () => {
	const st = fixtures.status();
	const { env, view } = await render(st);
	const name = Object.keys(st.interfaces)[0];
	const calls = [];
	env.ubus.rail.maintenance = (params) => {
		calls.push(params);
		const next = fixtures.status();
		next.interfaces[name].state = 'maintenance';
		env.status = next;
		return {};
	};
	const trs = rows(view, 'rail-uplinks');
	assert.deepEqual(trs.map((tr) => text(cell(tr, 'Service'))),
		Object.values(st.interfaces).map((i) => (i.state == 'maintenance' ? 'Back in service' : 'Maintenance')));

	const button = cell(trs[0], 'Service').querySelector('button');
	button.click();
	await button.__pending;
	assert.deepEqual(calls, [ { interface: name, enable: true } ]);

	const after = rows(view, 'rail-uplinks')[0];
	assert.equal(text(cell(after, 'State')), 'Maintenance');
	const back = cell(after, 'Service').querySelector('button');
	assert.equal(text(back), 'Back in service');
	env.ubus.rail.maintenance = (params) => { calls.push(params); env.status = fixtures.status(); return {}; };
	back.click();
	await back.__pending;
	assert.deepEqual(calls[1], { interface: name, enable: false });
	assert.equal(text(cell(rows(view, 'rail-uplinks')[0], 'Service')), 'Maintenance');
});

// rail answers a maintenance call it cannot parse with UBUS_STATUS_INVALID_ARGUMENT; rpc.js
// resolves such a status quietly unless the call was declared with reject: true.
test('maintenance refused by the daemon (a ubus status): the page says so, in one line', async () => {
	const { env, view } = await render(fixtures.status());
	env.ubus.rail.maintenance = () => env.rpc.status(2);
	const button = cell(rows(view, 'rail-uplinks')[0], 'Service').querySelector('button');
	button.click();
	await button.__pending;
	assert.equal(env.ui.notifications.length, 1);
	assert.equal(env.ui.notifications[0].cls, 'error');
	const said = env.ui.notifications[0].children.textContent;
	assert.match(said, /Invalid argument/);
	assert.doesNotMatch(said, /\n|  at /, 'no stack trace from L.raise() in the notification');
});

test('maintenance without the ACL write grant: uhttpd refuses and the page says so', async () => {
	const { env, view } = await render(fixtures.status());
	env.ubus.rail.maintenance = () => { throw new Error('uhttpd must not pass a denied call on'); };
	env.rpc.denied.add('rail.maintenance');
	const button = cell(rows(view, 'rail-uplinks')[0], 'Service').querySelector('button');
	button.click();
	await button.__pending;
	assert.equal(env.ui.notifications.length, 1);
	assert.match(env.ui.notifications[0].children.textContent, /Access denied/);
});

test('without the ACL read grant the page says so instead of "rail is not running"', async () => {
	const env = createEnv({ status: fixtures.status() });
	env.rpc.denied.add('rail.status');
	const view = await env.renderView('view.rail.status');
	assert.ok(view.querySelector('.rail-denied'));
	assert.equal(view.querySelector('.rail-absent'), null);
	assert.equal(view.querySelector('table'), null);
	assert.match(text(view), /luci-app-rail/);
});

test('a status page has no Save & Apply footer; it has nothing to save', async () => {
	const { view } = await render(fixtures.status());
	assert.equal(view.querySelector('.cbi-page-actions'), null);
});

test('a disabled uplink has no maintenance button', async () => {
	const st = fixtures.status();
	const name = Object.keys(st.interfaces)[0];
	st.interfaces[name].state = 'disabled';
	const { view } = await render(st);
	assert.equal(cell(rows(view, 'rail-uplinks')[0], 'Service').querySelector('button'), null);
});

test('daemon not running: a clear message instead of tables', async () => {
	const { view } = await render(undefined);
	assert.match(text(view.querySelector('.rail-absent')), /rail is not running/);
	assert.equal(view.querySelector('table'), null);
});

test('text from the daemon is shown as text, never parsed as HTML', async () => {
	const st = fixtures.status();
	const first = Object.values(st.interfaces)[0];
	first.reason = '<img src=x onerror=alert(1)>';
	st.transitions[0].reason = '<b>bold</b>';
	const { view } = await render(st);
	assert.equal(view.querySelector('img'), null);
	assert.equal(view.querySelector('.rail-reason b'), null);
	assert.equal(text(cell(rows(view, 'rail-uplinks')[0], 'Reason')), '<img src=x onerror=alert(1)>');
});

test('nothing renders as null, undefined or NaN, even with fields missing', async () => {
	const st = fixtures.status();
	const [ a, b ] = Object.values(st.interfaces);
	delete a.flows;
	delete a.tx_bytes;
	a.address = null;
	a.device = null;
	delete b.targets;
	delete st.transitions;
	const { view } = await render(st);
	assert.doesNotMatch(text(view), /\b(null|undefined|NaN)\b/);
	assert.equal(text(cell(rows(view, 'rail-uplinks')[0], 'Flows')), '–');
});

test('a dual-stack uplink shows its IPv6 state and address beside IPv4; IPv6 transitions say so', async () => {
	const st = fixtures.status();
	const name = Object.keys(st.interfaces)[0];
	Object.assign(st.interfaces[name], { state: 'up', state6: 'down', address6: '2001:db8:100:1::2' });
	st.transitions = [ { time: st.interfaces[name].since, interface: name, family: 'ipv6',
		from: 'up', to: 'down', reason: 'IPv6 lost' } ];
	const { view } = await render(st);
	const tr = rows(view, 'rail-uplinks').find((r) => r.dataset.interface === name);
	const badges = [ ...cell(tr, 'State').querySelectorAll('.rail-badge') ]
		.map((b) => [ ...b.classList ].find((c) => c.startsWith('rail-state-')));
	assert.deepEqual(badges, [ 'rail-state-up', 'rail-state-down' ], '`state` stays IPv4\'s');
	assert.match(text(cell(tr, 'State')), /IPv6/);
	assert.match(text(cell(tr, 'Uplink').querySelector('small')), /2001:db8:100:1::2/);
	const change = rows(view, 'rail-transitions')[0];
	assert.equal(text(cell(change, 'Uplink')), `${name} (ipv6)`);
});
