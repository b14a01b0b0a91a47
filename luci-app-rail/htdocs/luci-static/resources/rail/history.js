'use strict';
'require baseclass';
'require dom';
'require rpc';
'require poll';
'require rail';

/*
 * Uplink quality over time, from `ubus call rail history`: per uplink and family a chart
 * drawn here as SVG (no chart library): the latency band (mean ± spread) with its mean,
 * loss as bars from the top, and a strip of the state below with its transitions; the
 * span switchable between 10 minutes, 1 hour and 24 hours and refreshed live; and the
 * availability, outages and the longest one. Also the small sparkline of the overview.
 *
 * The daemon sends columns: `rtt_us`, `sd_us`, `loss_permille` (-1: no data), one value
 * per `step` seconds from `start`, and the state as runs `[[unix, state], ...]`.
 */

const callHistory = rpc.declare({
	object: 'rail',
	method: 'history',
	/* The pages want every uplink; interface and family narrow it for scripts. */
	params: [ 'span' ],
	expect: { '': {} }
});

const SPANS = [
	[ '10m', _('10 minutes'), 600 ],
	[ '1h', _('1 hour'), 3600 ],
	[ '24h', _('24 hours'), 86400 ]
];

/* How often a span is fetched again while shown, seconds: about one new sample's time. */
const REFRESH = { '10m': 5, '1h': 30, '24h': 60 };

const SVG = 'http://www.w3.org/2000/svg';

/* The chart's geometry in SVG user units; it scales to the page width. */
const W = 720, PLOT_TOP = 8, PLOT_H = 110, STRIP_Y = 126, STRIP_H = 12, H = 156, LEFT = 52, RIGHT = 8;

function svg(tag, attrs, children) {
	const node = document.createElementNS(SVG, tag);
	for (const k in attrs || {})
		node.setAttribute(k, String(attrs[k]));
	for (const c of children || [])
		node.appendChild(typeof c == 'string' ? document.createTextNode(c) : c);
	return node;
}

/* A round upper bound for the latency axis: 1, 2 or 5 times a power of ten (ms). */
function niceMax(ms) {
	if (!(ms > 0))
		return 10;
	const p = Math.pow(10, Math.floor(Math.log10(ms)));
	return [ 1, 2, 5, 10 ].map((f) => f * p).find((v) => v >= ms);
}

function spanSeconds(span) {
	const s = SPANS.find(([ k ]) => k == span);
	return s ? s[2] : 3600;
}

return baseclass.extend({
	callHistory: callHistory,
	SPANS: SPANS,

	/* The history document for a span, or null when rail does not answer. */
	load(span) {
		return L.resolveDefault(callHistory(span), null).then((h) =>
			(h && typeof h.interfaces == 'object') ? h : null);
	},

	/* Every series of a document as [ name, family, series ], by name then family. */
	series(h) {
		const out = [];
		for (const name of Object.keys((h && h.interfaces) || {}).sort())
			for (const family of Object.keys(h.interfaces[name]).sort())
				out.push([ name, family, h.interfaces[name][family] ]);
		return out;
	},

	/* "available 99.95 %, 2 outages, longest 1m 12s" */
	summaryText(s) {
		const sum = (s && s.summary) || {};
		const parts = [ sum.availability != null
			? _('available %s').format(rail.percent(sum.availability)) : _('no data yet') ];
		parts.push(sum.outages == 1 ? _('1 outage') : _('%d outages').format(sum.outages || 0));
		if (sum.outages > 0)
			parts.push(_('longest %s').format(rail.duration(sum.longest)));
		if (sum.rtt_us >= 0)
			parts.push(_('mean RTT %s').format(rail.ms(sum.rtt_us / 1000)));
		if (sum.loss_permille >= 0)
			parts.push(_('loss %s').format(rail.percent(sum.loss_permille / 10)));
		return parts.join(', ');
	},

	/* The chart of one series over `span` ending at `now`. */
	chart(s, span, now) {
		const seconds = spanSeconds(span);
		const from = now - seconds;
		const plotW = W - LEFT - RIGHT;
		const x = (t) => LEFT + Math.max(0, Math.min(1, (t - from) / seconds)) * plotW;
		const rtt = s.rtt_us || [], sd = s.sd_us || [], loss = s.loss_permille || [];
		const step = s.step || 1;
		let top = 0;
		rtt.forEach((r, i) => { if (r >= 0) top = Math.max(top, (r + Math.max(0, sd[i] || 0)) / 1000); });
		const max = niceMax(top);
		const y = (ms) => PLOT_TOP + PLOT_H - Math.min(1, ms / max) * PLOT_H;
		const nodes = [
			svg('rect', { 'class': 'rail-chart-plot', x: LEFT, y: PLOT_TOP, width: plotW, height: PLOT_H }),
			svg('line', { 'class': 'rail-chart-grid', x1: LEFT, x2: LEFT + plotW, y1: y(max / 2), y2: y(max / 2) }),
			svg('text', { 'class': 'rail-chart-label', x: LEFT - 4, y: PLOT_TOP + 9, 'text-anchor': 'end' }, [ max + ' ms' ]),
			svg('text', { 'class': 'rail-chart-label', x: LEFT - 4, y: y(max / 2) + 4, 'text-anchor': 'end' }, [ (max / 2) + ' ms' ]),
			svg('text', { 'class': 'rail-chart-label', x: LEFT - 4, y: STRIP_Y + 10, 'text-anchor': 'end' }, [ _('state') ])
		];

		/* Loss: a bar per sample hanging from the top, full height at 100 %. */
		loss.forEach((l, i) => {
			if (l > 0) {
				const t = s.start + i * step;
				nodes.push(svg('rect', { 'class': 'rail-chart-loss', x: x(t), y: PLOT_TOP,
					width: Math.max(1, x(t + step) - x(t)), height: l / 1000 * PLOT_H },
					[ svg('title', {}, [ _('loss %s').format(rail.percent(l / 10)) ]) ]));
			}
		});

		/* The latency band and its mean, one path piece per stretch of samples with data. */
		let band = [], line = [];
		const flush = () => {
			if (band.length) {
				const upper = band.map(([ px, hi ]) => px.toFixed(1) + ',' + hi.toFixed(1));
				const lower = band.slice().reverse().map(([ px, , lo ]) => px.toFixed(1) + ',' + lo.toFixed(1));
				nodes.push(svg('polygon', { 'class': 'rail-chart-band', points: upper.concat(lower).join(' ') }));
				nodes.push(svg('polyline', { 'class': 'rail-chart-rtt', points: line.join(' ') }));
			}
			band = [];
			line = [];
		};
		rtt.forEach((r, i) => {
			if (r < 0)
				return flush();
			const px = x(s.start + (i + 0.5) * step), m = r / 1000, d = Math.max(0, sd[i] || 0) / 1000;
			band.push([ px, y(m + d), y(Math.max(0, m - d)) ]);
			line.push(px.toFixed(1) + ',' + y(m).toFixed(1));
		});
		flush();

		/* The state strip: a run per state, and a tick at every change. */
		const runs = s.states || [];
		runs.forEach(([ at, state ], i) => {
			const end = i + 1 < runs.length ? runs[i + 1][0] : now + step;
			const x0 = x(Math.max(at, from)), x1 = x(end);
			if (x1 <= x0)
				return;
			nodes.push(svg('rect', { 'class': 'rail-chart-state ' + rail.stateClass(state), 'data-state': state,
				x: x0, y: STRIP_Y, width: x1 - x0, height: STRIP_H },
				[ svg('title', {}, [ '%s: %s'.format(rail.time(at), state) ]) ]));
			if (i > 0 && at >= from)
				nodes.push(svg('line', { 'class': 'rail-chart-transition', 'data-state': state,
					x1: x0, x2: x0, y1: PLOT_TOP, y2: STRIP_Y + STRIP_H }));
		});

		const ago = SPANS.find(([ k ]) => k == span);
		nodes.push(svg('text', { 'class': 'rail-chart-label', x: LEFT, y: H - 2 }, [ '−' + (ago ? ago[1] : span) ]));
		nodes.push(svg('text', { 'class': 'rail-chart-label', x: W - RIGHT, y: H - 2, 'text-anchor': 'end' }, [ _('now') ]));
		return svg('svg', { 'class': 'rail-chart', viewBox: '0 0 %d %d'.format(W, H), preserveAspectRatio: 'none',
			role: 'img' }, nodes);
	},

	/* The small sparkline of the overview: the mean RTT over the span, the outages marked. */
	sparkline(s, span, now) {
		const w = 120, h = 20, seconds = spanSeconds(span), from = now - seconds;
		const rtt = s.rtt_us || [], step = s.step || 60;
		const x = (t) => Math.max(0, Math.min(1, (t - from) / seconds)) * w;
		const top = Math.max(1, ...rtt.filter((r) => r >= 0));
		const nodes = [];
		const runs = s.states || [];
		runs.forEach(([ at, state ], i) => {
			const end = i + 1 < runs.length ? runs[i + 1][0] : now + step;
			if ([ 'down', 'no-device' ].includes(state) && x(end) > x(at))
				nodes.push(svg('rect', { 'class': 'rail-spark-down', x: x(Math.max(at, from)), y: 0,
					width: x(end) - x(Math.max(at, from)), height: h }));
		});
		let pts = [];
		const flush = () => {
			if (pts.length)
				nodes.push(svg('polyline', { 'class': 'rail-spark-rtt', points: pts.join(' ') }));
			pts = [];
		};
		rtt.forEach((r, i) => {
			if (r < 0)
				return flush();
			pts.push(x(s.start + (i + 0.5) * step).toFixed(1) + ',' + (h - 1 - r / top * (h - 2)).toFixed(1));
		});
		flush();
		return svg('svg', { 'class': 'rail-spark', width: w, height: h, viewBox: '0 0 %d %d'.format(w, h), role: 'img' }, nodes);
	},

	/* One card per series: title, summary, chart. */
	renderCharts(h, span) {
		const all = this.series(h);
		if (!all.length)
			return E('em', {}, [ _('No history yet') ]);
		return E('div', { 'class': 'rail-charts' }, all.map(([ name, family, s ]) =>
			E('div', { 'class': 'rail-chart-card', 'data-interface': name, 'data-family': family }, [
				E('div', { 'class': 'rail-chart-title' }, [
					E('strong', {}, [ name ]), ' ', E('small', {}, [ family == 'ipv6' ? 'IPv6' : 'IPv4' ]), ' ',
					rail.badge(s.state), ' ',
					E('span', { 'class': 'rail-chart-summary' }, [ this.summaryText(s) ])
				]),
				this.chart(s, span, h.now)
			])));
	},

	/*
	 * The status page's section: the span buttons and the charts, loading and refreshing
	 * themselves. Returns the node at once; the caller places it (and may re-place it).
	 */
	render() {
		const state = { span: '10m', fetched: 0 };
		const body = E('div', { 'class': 'rail-history-body' }, [ E('em', {}, [ _('Loading…') ]) ]);
		const buttons = SPANS.map(([ key, label ]) => E('button', {
			'class': 'cbi-button rail-span' + (key == state.span ? ' cbi-button-action' : ''),
			'data-span': key,
			'click': () => select(key)
		}, [ label ]));
		const update = () => this.load(state.span).then((h) => {
			state.fetched = Date.now();
			dom.content(body, h ? this.renderCharts(h, state.span) : E('em', {}, [ _('No history: rail does not answer') ]));
		});
		const select = (key) => {
			state.span = key;
			buttons.forEach((b) => b.classList.toggle('cbi-button-action', b.dataset.span == key));
			return update();
		};
		poll.add(() => (Date.now() - state.fetched >= REFRESH[state.span] * 1000 - 500) ? update() : null, 5);
		this.ready = update();
		return E('div', { 'class': 'cbi-section rail-history' }, [
			E('h3', {}, [ _('Quality over time') ]),
			E('div', { 'class': 'rail-spans' }, buttons),
			body
		]);
	}
});
