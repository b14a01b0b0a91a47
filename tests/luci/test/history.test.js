// Quality over time (rail/history.js) on the status page and the overview widget, drawn
// from real `rail history --json` documents (fixtures/history-*.json): every chart checked
// against the document it came from, whatever the document holds.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createEnv } = require('../lib/luci-env');
const fixtures = require('../lib/fixtures');
const { text, rows, cell } = require('../lib/query');

async function page(history = fixtures.history()) {
	const env = createEnv({ status: fixtures.status(), history });
	const view = await env.renderView('view.rail.status');
	await env.require('rail.history').ready;
	return { env, view };
}

const series = (doc) => Object.keys(doc.interfaces).sort().flatMap((name) =>
	Object.keys(doc.interfaces[name]).sort().map((family) => [ name, family, doc.interfaces[name][family] ]));

const historyCalls = (env) => env.rpc.calls.filter((c) => c.method == 'history');

test('the fixtures hold what the charts must show: loss, an outage, and every uplink', () => {
	const doc = fixtures.history()['10m'];
	const all = series(doc);
	assert.ok(all.length >= 3);
	assert.ok(all.some(([ , , s ]) => s.loss_permille.some((l) => l > 0)), 'some loss');
	assert.ok(all.some(([ , , s ]) => s.states.some(([ , st ]) => st == 'down')), 'an outage');
	for (const [ name, , s ] of all) {
		assert.equal(s.rtt_us.length, s.sd_us.length, name);
		assert.equal(s.rtt_us.length, s.loss_permille.length, name);
		assert.equal(s.step, 1, name);
	}
});

test('the status page asks rail history for 10 minutes and draws a card per uplink and family', async () => {
	const { env, view } = await page();
	const rail = env.require('rail');
	const doc = env.history['10m'];
	assert.deepEqual(historyCalls(env).map((c) => c.params), [ { span: '10m' } ]);
	const cards = [ ...view.querySelectorAll('.rail-chart-card') ];
	assert.deepEqual(cards.map((c) => [ c.dataset.interface, c.dataset.family ]),
		series(doc).map(([ name, family ]) => [ name, family ]));
	const charts = view.querySelector('.rail-history');
	const uplinks = view.querySelector('table.rail-uplinks').closest('.cbi-section');
	assert.equal(uplinks.nextElementSibling, charts, 'the charts follow the uplinks table');
	for (const card of cards) {
		const s = doc.interfaces[card.dataset.interface][card.dataset.family];
		const where = card.dataset.interface;
		assert.ok(card.querySelector('svg.rail-chart'), where);
		const badge = card.querySelector('.rail-badge');
		assert.ok(badge.classList.contains('rail-state-' + s.state), where);
		const summary = text(card.querySelector('.rail-chart-summary'));
		assert.ok(summary.startsWith('available ' + rail.percent(s.summary.availability)), `${where}: ${summary}`);
		assert.match(summary, s.summary.outages == 1 ? /1 outage/ : new RegExp(s.summary.outages + ' outages'), where);
		if (s.summary.outages > 0)
			assert.match(summary, /longest /, where);
	}
});

test('loss: one bar per sample that lost probes, as tall as the loss', async () => {
	const { env, view } = await page();
	const doc = env.history['10m'];
	for (const card of view.querySelectorAll('.rail-chart-card')) {
		const s = doc.interfaces[card.dataset.interface][card.dataset.family];
		const lossy = s.loss_permille.filter((l) => l > 0);
		const bars = [ ...card.querySelectorAll('rect.rail-chart-loss') ];
		assert.equal(bars.length, lossy.length, card.dataset.interface);
		bars.forEach((b, i) => assert.ok(Math.abs(Number(b.getAttribute('height')) - lossy[i] / 1000 * 110) < 1e-6));
	}
});

test('latency: a band and a mean line over every stretch of samples with replies', async () => {
	const { env, view } = await page();
	const doc = env.history['10m'];
	for (const card of view.querySelectorAll('.rail-chart-card')) {
		const s = doc.interfaces[card.dataset.interface][card.dataset.family];
		let stretches = 0, points = 0;
		s.rtt_us.forEach((r, i) => {
			if (r >= 0) {
				points++;
				if (i == 0 || s.rtt_us[i - 1] < 0)
					stretches++;
			}
		});
		const lines = [ ...card.querySelectorAll('polyline.rail-chart-rtt') ];
		assert.equal(lines.length, stretches, card.dataset.interface);
		assert.equal(card.querySelectorAll('polygon.rail-chart-band').length, stretches);
		assert.equal(lines.map((l) => l.getAttribute('points').split(' ').length).reduce((a, b) => a + b, 0), points);
	}
});

test('the state strip: a stretch per run, in the run\'s colour, and a mark at each transition', async () => {
	const { env, view } = await page();
	const doc = env.history['10m'];
	for (const card of view.querySelectorAll('.rail-chart-card')) {
		const s = doc.interfaces[card.dataset.interface][card.dataset.family];
		const strip = [ ...card.querySelectorAll('rect.rail-chart-state') ];
		assert.deepEqual(strip.map((r) => r.dataset.state), s.states.map(([ , st ]) => st), card.dataset.interface);
		for (const r of strip)
			assert.ok(r.classList.contains(r.dataset.state == 'none' ? 'rail-state-unknown' : 'rail-state-' + r.dataset.state));
		assert.deepEqual([ ...card.querySelectorAll('line.rail-chart-transition') ].map((l) => l.dataset.state),
			s.states.slice(1).map(([ , st ]) => st));
	}
});

test('the chart maps time and latency onto its axes', () => {
	const env = createEnv({ status: fixtures.status() });
	const h = env.require('rail.history');
	const now = 1000;
	// Two samples at 600 s of a 10-minute span: 40 ms ± 10 ms, then none; up, then down.
	const s = { state: 'down', start: 400, step: 1, rtt_us: [ 40000, -1 ], sd_us: [ 10000, -1 ],
		loss_permille: [ 0, 1000 ], states: [ [ 400, 'up' ], [ 401, 'down' ] ], summary: {} };
	const svg = h.chart(s, '10m', now);
	// Axis 0..50 ms (a round bound above 40 + 10) over 110 units from y 8.
	assert.equal(svg.querySelector('text.rail-chart-label').textContent, '50 ms');
	const pt = svg.querySelector('polyline.rail-chart-rtt').getAttribute('points').split(',').map(Number);
	const x = 52 + (400.5 - 400) / 600 * (720 - 60);
	assert.ok(Math.abs(pt[0] - x) < 0.06 && Math.abs(pt[1] - (8 + 110 - 40 / 50 * 110)) < 0.06, String(pt));
	const loss = svg.querySelector('rect.rail-chart-loss');
	assert.equal(Number(loss.getAttribute('height')), 110, '100 % loss: the full height');
	const [ up, down ] = svg.querySelectorAll('rect.rail-chart-state');
	assert.equal(Number(up.getAttribute('x')), 52);
	assert.ok(Math.abs(Number(down.getAttribute('x')) + Number(down.getAttribute('width')) - (720 - 8)) < 1.2,
		'the last run reaches now');
});

test('a 24-hour answer with merged samples (too large for one ubus message) is drawn by its step', () => {
	const env = createEnv({ status: fixtures.status() });
	const h = env.require('rail.history');
	const now = 100000, start = now - 86400;
	// Two samples of two minutes each: 20 ms, then 30 ms with half the probes lost.
	const s = { state: 'up', start: start, step: 120, rtt_us: [ 20000, 30000 ], sd_us: [ 0, 0 ],
		loss_permille: [ 0, 500 ], states: [ [ start, 'up' ] ], summary: {} };
	const svg = h.chart(s, '24h', now);
	const x = (t) => 52 + (t - start) / 86400 * (720 - 60);
	const pts = svg.querySelector('polyline.rail-chart-rtt').getAttribute('points').split(' ')
		.map((p) => Number(p.split(',')[0]));
	assert.deepEqual(pts.map((p) => p.toFixed(1)), [ x(start + 60), x(start + 180) ].map((p) => p.toFixed(1)));
	const loss = svg.querySelector('rect.rail-chart-loss');
	assert.ok(Math.abs(Number(loss.getAttribute('x')) - x(start + 120)) < 0.01, loss.getAttribute('x'));
});

test('switching the span asks rail history for it and redraws; the buttons show which', async () => {
	const { env, view } = await page();
	const buttons = [ ...view.querySelectorAll('button.rail-span') ];
	assert.deepEqual(buttons.map((b) => b.dataset.span), [ '10m', '1h', '24h' ]);
	assert.ok(buttons[0].classList.contains('cbi-button-action'));
	env.history['1h'] = fixtures.history()['1h'];
	buttons[1].click();
	await new Promise((r) => setTimeout(r, 0));
	assert.deepEqual(historyCalls(env).map((c) => c.params.span), [ '10m', '1h' ]);
	assert.ok(buttons[1].classList.contains('cbi-button-action') && !buttons[0].classList.contains('cbi-button-action'));
	const doc = env.history['1h'];
	const card = view.querySelector('.rail-chart-card');
	const s = doc.interfaces[card.dataset.interface][card.dataset.family];
	assert.equal(card.querySelectorAll('rect.rail-chart-state').length, s.states.length);
	assert.equal(text(view.querySelector('svg.rail-chart text:last-of-type')), 'now');
});

test('refreshed live: fetched again once a sample\'s time has passed, not on every tick', async () => {
	const { env, view } = await page();
	await env.poll.step();
	assert.equal(historyCalls(env).length, 1, 'just fetched: not again');
	const realNow = env.window.Date.now;
	const later = realNow.call(env.window.Date) + 6000;
	env.window.Date.now = () => later;
	const doc = env.history['10m'];
	const name = Object.keys(doc.interfaces).sort()[0];
	const family = Object.keys(doc.interfaces[name]).sort()[0];
	doc.interfaces[name][family].state = 'maintenance';
	await env.poll.step();
	assert.equal(historyCalls(env).length, 2);
	const card = view.querySelector(`.rail-chart-card[data-interface="${name}"]`);
	assert.ok(card.querySelector('.rail-badge').classList.contains('rail-state-maintenance'));
});

test('a daemon without history (older, or stopped) leaves the rest of the page as it was', async () => {
	const env = createEnv({ status: fixtures.status() });
	const view = await env.renderView('view.rail.status');
	await env.require('rail.history').ready;
	assert.match(text(view.querySelector('.rail-history-body')), /No history/);
	assert.ok(rows(view, 'rail-uplinks').length > 0);
});

test('the overview widget: a sparkline of the last hour per uplink, its outages marked', async () => {
	const env = createEnv({ status: fixtures.status(), history: fixtures.history() });
	const include = env.require('view.status.include.35_rail');
	const node = env.document.createElement('div');
	node.appendChild(include.render(await include.load()));
	await include.ready;
	assert.deepEqual(historyCalls(env).map((c) => c.params), [ { span: '1h' } ]);
	const doc = env.history['1h'];
	for (const tr of rows(node, 'rail-overview')) {
		const fams = doc.interfaces[tr.dataset.interface];
		const s = fams && (fams.ipv4 || fams.ipv6);
		const spark = cell(tr, 'Last hour').querySelector('svg.rail-spark');
		if (!s) {
			assert.equal(spark, null);
			continue;
		}
		assert.equal(spark.querySelectorAll('polyline.rail-spark-rtt').length > 0, s.rtt_us.some((r) => r >= 0));
		const outages = s.states.filter(([ , st ]) => st == 'down' || st == 'no-device').length;
		assert.equal(spark.querySelectorAll('rect.rail-spark-down').length, outages, tr.dataset.interface);
	}
});
