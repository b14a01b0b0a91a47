'use strict';
'require baseclass';
'require rail';
'require rail.history as history';

/*
 * The rail box on Status > Overview: one line per uplink (state, uptime, mean RTT
 * and loss over its targets, and a sparkline of its last hour, drawn when `rail history`
 * answers: the box never waits for it). The overview page calls load() and render() on
 * its own refresh cycle; the full picture is one click away on Status > Multi-WAN.
 */

return baseclass.extend({
	title: _('Multi-WAN (rail)'),

	load() {
		return rail.loadStatus();
	},

	render(st) {
		if (st === rail.DENIED)
			return E('em', { 'class': 'rail-denied' }, [ _('Not permitted: the luci-app-rail access (ACL) is not granted to this user') ]);
		if (!st)
			return E('em', { 'class': 'rail-absent' }, [ _('rail is not running') ]);

		const titles = [ _('Uplink'), _('State'), _('Uptime'), _('RTT'), _('Loss'), _('Last hour') ];
		const sparks = {};
		const rows = Object.keys(st.interfaces).map((name) => {
			const ifc = st.interfaces[name];
			const sum = rail.summarize(ifc);
			return E('tr', { 'class': 'tr', 'data-interface': name }, [
				E('td', { 'class': 'td', 'data-title': titles[0] }, [ name ]),
				E('td', { 'class': 'td', 'data-title': titles[1] }, [ rail.badge(ifc.state) ]),
				E('td', { 'class': 'td', 'data-title': titles[2] }, [ ifc.uptime > 0 ? rail.duration(ifc.uptime) : '–' ]),
				E('td', { 'class': 'td', 'data-title': titles[3] }, [ rail.ms(sum.rtt_ms) ]),
				E('td', { 'class': 'td', 'data-title': titles[4] }, [ rail.percent(sum.loss == null ? null : Math.round(sum.loss * 10) / 10) ]),
				sparks[name] = E('td', { 'class': 'td', 'data-title': titles[5] }, [ '–' ])
			]);
		});
		this.ready = history.load('1h').then((h) => {
			for (const name in sparks) {
				const fams = h && h.interfaces[name];
				const s = fams && (fams.ipv4 || fams.ipv6);
				if (s)
					sparks[name].replaceChildren(history.sparkline(s, '1h', h.now));
			}
		});

		/* LuCI's E() turns a null child into the text "null": leave absent parts out. */
		return E([], [
			st.all_targets_lost ? E('div', { 'class': 'alert-message warning rail-banner' }, [
				_('Every uplink lost every probe target; rail keeps forwarding.')
			]) : null,
			E('table', { 'class': 'table rail-overview' }, [
				E('tr', { 'class': 'tr table-titles' }, titles.map((t) => E('th', { 'class': 'th' }, [ t ]))),
				...rows
			]),
			E('a', { 'href': L.url('admin/status/rail') }, [ _('Details…') ])
		].filter((n) => n));
	}
});
