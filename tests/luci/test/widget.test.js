// The Status > Overview box (view/status/include/35_rail.js), driven the way
// luci-mod-status drives its includes: load(), then render(result).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createEnv } = require('../lib/luci-env');
const fixtures = require('../lib/fixtures');
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
	assert.deepEqual(env.rpc.calls.map((c) => `${c.object}.${c.method}`), [ 'rail.status' ]);
});

test('one line per uplink with state, uptime, mean RTT and mean loss over its targets', async () => {
	const { node } = await widget(fixtures.status());
	const trs = rows(node, 'rail-overview');
	assert.deepEqual(trs.map((tr) => tr.dataset.interface), [ 'wan', 'wanb', 'lte' ]);
	assert.deepEqual(trs.map((tr) => [ 'State', 'Uptime', 'RTT', 'Loss' ].map((t) => text(cell(tr, t)))), [
		[ 'Up', '2h 1m', '13.3 ms', '0 %' ],
		[ 'Down', '–', '–', '100 %' ],
		[ 'Suspect', '1h 30m', '54.9 ms', '20 %' ]
	]);
	assert.ok(cell(trs[1], 'State').querySelector('.rail-badge.rail-state-down'));
	assert.equal(node.querySelector('a').getAttribute('href'), '/cgi-bin/luci/admin/status/rail');
});

test('banner when every uplink lost every target, none otherwise', async () => {
	assert.equal((await widget(fixtures.status())).node.querySelector('.rail-banner'), null);
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
