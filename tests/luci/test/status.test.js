// The status page (view/rail/status.js) rendered from a `rail status --json` document.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createEnv } = require('../lib/luci-env');
const fixtures = require('../lib/fixtures');
const { text, rows, cell } = require('../lib/query');

async function render(status = fixtures.status()) {
	const env = createEnv({ status, uci: fixtures.uci() });
	const view = await env.renderView('view.rail.status');
	return { env, view };
}

test('asks ubus rail status, once, for the first render', async () => {
	const { env } = await render();
	assert.deepEqual(env.rpc.calls.map((c) => `${c.object}.${c.method}`), [ 'rail.status' ]);
});

test('one uplink row per interface, in the daemon order, with state badge and details', async () => {
	const st = fixtures.status();
	const { view } = await render(st);
	const trs = rows(view, 'rail-uplinks');
	assert.deepEqual(trs.map((tr) => tr.dataset.interface), [ 'wan', 'wanb', 'lte' ]);

	const [ wan, wanb, lte ] = trs;
	const badge = cell(wan, 'State').querySelector('.rail-badge');
	assert.ok(badge.classList.contains('rail-state-up'), badge.className);
	assert.equal(text(badge), 'Up');
	assert.equal(text(cell(wan, 'Uplink').querySelector('strong')), 'wan');
	assert.equal(text(cell(wan, 'Uplink').querySelector('small')), 'eth1 · 192.0.2.2');
	assert.equal(text(cell(wan, 'Since')), '2025-11-22 00:06:40');
	assert.equal(text(cell(wan, 'Uptime')), '2h 1m');
	assert.equal(text(cell(wan, 'Flows')), '112');
	assert.equal(text(cell(wan, 'Sent')), '46.0 MiB');
	assert.equal(text(cell(wan, 'Reason')), st.interfaces.wan.reason);

	assert.ok(cell(wanb, 'State').querySelector('.rail-badge.rail-state-down'));
	assert.equal(text(cell(wanb, 'State')), 'Down');
	assert.equal(text(cell(wanb, 'Uptime')), '–');
	assert.equal(text(cell(wanb, 'Reason')), '3/3 probes lost to 198.18.0.1, 198.18.0.2');

	assert.ok(cell(lte, 'State').querySelector('.rail-badge.rail-state-suspect'));
	assert.equal(text(cell(lte, 'Uptime')), '1h 30m');
});

test('every state of the contract gets its own badge colour; an unknown one is marked unknown', async () => {
	const st = fixtures.status();
	const states = [ 'up', 'suspect', 'down', 'recovering', 'disabled', 'no-device', 'maintenance', 'bogus' ];
	st.interfaces = Object.fromEntries(states.map((s, i) =>
		[ 'u' + i, Object.assign({}, st.interfaces.wan, { state: s, targets: [] }) ]));
	const { view } = await render(st);
	const classes = rows(view, 'rail-uplinks').map((tr) =>
		[ ...cell(tr, 'State').querySelector('.rail-badge').classList ].find((c) => c.startsWith('rail-state-')));
	assert.deepEqual(classes, [ 'up', 'suspect', 'down', 'recovering', 'disabled', 'no-device', 'maintenance', 'unknown' ]
		.map((s) => 'rail-state-' + s));
	assert.equal(new Set(classes).size, states.length);
});

test('probe targets: RTT, jitter, loss and replies per target of each uplink', async () => {
	const { view } = await render();
	const trs = rows(view, 'rail-targets');
	assert.deepEqual(trs.map((tr) => `${tr.dataset.interface}/${tr.dataset.target}`), [
		'wan/198.18.0.1', 'wan/198.18.0.2', 'wanb/198.18.0.1', 'wanb/198.18.0.2', 'lte/198.18.0.1', 'lte/198.19.0.9'
	]);
	const lte9 = trs[5];
	assert.equal(text(cell(lte9, 'RTT')), '61.3 ms');
	assert.equal(text(cell(lte9, 'Jitter')), '14.2 ms');
	assert.equal(text(cell(lte9, 'Loss')), '35 %');
	assert.ok(cell(lte9, 'Loss').querySelector('.rail-loss'), 'loss above zero is highlighted');
	assert.equal(text(cell(lte9, 'Replies')), '39 / 60');
	assert.ok(cell(lte9, 'State').querySelector('.rail-state-suspect'));

	const wan1 = trs[0];
	assert.equal(text(cell(wan1, 'RTT')), '12.4 ms');
	assert.equal(text(cell(wan1, 'Loss')), '0 %');
	assert.equal(cell(wan1, 'Loss').querySelector('.rail-loss'), null);

	const lost = trs[2];
	assert.equal(text(cell(lost, 'RTT')), '–', 'no RTT for a target that never answered');
	assert.equal(text(cell(lost, 'Loss')), '100 %');
});

test('policy shares: members with their percent, bar widths, and the last resort', async () => {
	const { view } = await render();
	const trs = rows(view, 'rail-policies');
	assert.deepEqual(trs.map((tr) => tr.dataset.policy), [ 'balanced', 'wan_first', 'wanb_only' ]);

	const shares = [ ...trs[0].querySelectorAll('.rail-share') ];
	assert.deepEqual(shares.map((s) => [
		s.dataset.member, text(s.querySelector('.rail-share-percent')),
		s.querySelector('.cbi-progressbar > div').getAttribute('style')
	]), [
		[ 'wan_m1_w3', '75 %', 'width:75%' ],
		[ 'lte_m1_w1', '25 %', 'width:25%' ]
	]);
	assert.equal(text(cell(trs[0], 'Last resort')), 'unreachable');
	assert.equal(text(trs[1].querySelector('.rail-share-percent')), '100 %');
	assert.equal(text(cell(trs[2], 'New connections go to')), 'No uplink available: last resort is blackhole');
});

test('recent transitions: newest first, with both states and the reason', async () => {
	const { view } = await render();
	const trs = rows(view, 'rail-transitions');
	assert.deepEqual(trs.map((tr) => text(cell(tr, 'Time'))), [
		'2025-11-22 02:04:40', '2025-11-22 02:01:40', '2025-11-22 02:01:20', '2025-11-22 00:06:40'
	]);
	assert.equal(text(cell(trs[1], 'Change')), 'Suspect → Down');
	const badges = cell(trs[1], 'Change').querySelectorAll('.rail-badge');
	assert.ok(badges[0].classList.contains('rail-state-suspect'));
	assert.ok(badges[1].classList.contains('rail-state-down'));
	assert.equal(text(cell(trs[1], 'Reason')), '3/3 probes lost to 198.18.0.1, 198.18.0.2');
});

test('at most 20 transitions are listed, the most recent ones', async () => {
	const st = fixtures.status();
	st.transitions = Array.from({ length: 50 }, (_, i) =>
		({ time: 1763770000 + i, interface: 'wan', from: 'up', to: 'down', reason: 'r' + i }));
	const { view } = await render(st);
	const trs = rows(view, 'rail-transitions');
	assert.equal(trs.length, 20);
	assert.equal(text(cell(trs[0], 'Reason')), 'r49');
	assert.equal(text(cell(trs[19], 'Reason')), 'r30');
});

test('the all-targets-lost banner shows only when the daemon says so', async () => {
	const calm = await render();
	assert.equal(calm.view.querySelector('.rail-banner'), null);

	const st = fixtures.status();
	st.all_targets_lost = true;
	const { view } = await render(st);
	const banner = view.querySelector('.rail-banner');
	assert.ok(banner, 'banner rendered');
	assert.match(text(banner), /Every uplink lost every probe target/);
	assert.match(text(banner), /keeps forwarding/);
});

test('polling every 5 s re-renders from the new status', async () => {
	const { env, view } = await render();
	assert.equal(env.poll.queue.length, 1);
	assert.equal(env.poll.queue[0].interval, 5);

	const next = fixtures.status();
	next.interfaces.wan.state = 'down';
	next.interfaces.wan.reason = '3/3 probes lost to 198.18.0.1, 198.18.0.2';
	next.all_targets_lost = true;
	env.status = next;
	await env.poll.step();

	const wan = rows(view, 'rail-uplinks')[0];
	assert.equal(text(cell(wan, 'State')), 'Down');
	assert.equal(text(cell(wan, 'Reason')), '3/3 probes lost to 198.18.0.1, 198.18.0.2');
	assert.ok(view.querySelector('.rail-banner'));
	assert.equal(view.querySelectorAll('table.rail-uplinks').length, 1, 'replaced, not appended');
	assert.equal(env.rpc.calls.length, 2);
});

test('daemon not running: a clear message instead of tables', async () => {
	const env = createEnv({ status: undefined, uci: fixtures.uci() });
	const view = await env.renderView('view.rail.status');
	assert.match(text(view.querySelector('.rail-absent')), /rail is not running/);
	assert.equal(view.querySelector('table'), null);
});

test('text from the daemon is shown as text, never parsed as HTML', async () => {
	const st = fixtures.status();
	st.interfaces.wan.reason = '<img src=x onerror=alert(1)>';
	st.transitions[0].reason = '<b>bold</b>';
	const { view } = await render(st);
	assert.equal(view.querySelector('img'), null);
	assert.equal(view.querySelector('.rail-reason b'), null);
	assert.equal(text(cell(rows(view, 'rail-uplinks')[0], 'Reason')), '<img src=x onerror=alert(1)>');
});

test('nothing renders as null, undefined or NaN', async () => {
	const st = fixtures.status();
	delete st.interfaces.wan.flows;
	delete st.interfaces.wan.tx_bytes;
	delete st.interfaces.wan.address;
	st.interfaces.wanb.targets[0].rtt_ms = undefined;
	const { view } = await render(st);
	assert.doesNotMatch(text(view), /\b(null|undefined|NaN)\b/);
});
