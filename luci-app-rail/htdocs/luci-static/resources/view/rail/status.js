'use strict';
'require view';
'require dom';
'require poll';
'require ui';
'require rail';
'require rail.history as history';

/*
 * Status > Multi-WAN (rail): every uplink with its state and probe results, how
 * each policy shares new connections right now, and the latest state changes.
 * Everything comes from one `ubus call rail status`, refreshed every 5 seconds; the
 * charts of quality over time (rail/history.js) load and refresh themselves.
 */

const MAX_TRANSITIONS = 20;

function table(cls, titles, rows, empty) {
	return E('table', { 'class': 'table ' + cls }, [
		E('tr', { 'class': 'tr table-titles' },
			titles.map((t) => E('th', { 'class': 'th' }, [ t ]))),
		...(rows.length ? rows : [
			E('tr', { 'class': 'tr placeholder' }, [
				E('td', { 'class': 'td center', 'colspan': titles.length }, [ E('em', {}, [ empty ]) ])
			])
		])
	]);
}

/* A row whose cells carry their column title, as LuCI's tables do for narrow screens. */
function row(attrs, titles, cells) {
	return E('tr', Object.assign({ 'class': 'tr' }, attrs),
		cells.map((c, i) => E('td', { 'class': 'td', 'data-title': titles[i] }, Array.isArray(c) ? c : [ c ])));
}

function section(title, content) {
	return E('div', { 'class': 'cbi-section' }, [ E('h3', {}, [ title ]), content ]);
}

return view.extend({
	load() {
		return rail.loadStatus();
	},

	renderBanner(st) {
		if (!st.all_targets_lost)
			return null;
		return E('div', { 'class': 'alert-message warning rail-banner' }, [
			E('strong', {}, [ _('Every uplink lost every probe target.') ]), ' ',
			_('The targets themselves are probably unreachable rather than the uplinks, so rail keeps forwarding over the uplinks it has instead of cutting the network off.')
		]);
	},

	/* A button that takes the uplink out of service, or puts it back. */
	renderService(name, ifc) {
		if (ifc.state == 'disabled')
			return '';
		const back = ifc.state == 'maintenance';
		return E('button', {
			'class': 'cbi-button rail-service ' + (back ? 'cbi-button-positive' : 'cbi-button-neutral'),
			'title': back ? _('Let rail use %s again').format(name)
				: _('Stop using %s for new connections until put back').format(name),
			'click': ui.createHandlerFn(this, 'handleService', name, !back)
		}, [ back ? _('Back in service') : _('Maintenance') ]);
	},

	handleService(name, enable) {
		return rail.callMaintenance(name, enable)
			.then(() => this.refresh())
			.catch((e) => ui.addNotification(null,
				E('p', [ _('Could not change the service state of %s: %s').format(name, rail.errorText(e)) ]), 'error'));
	},

	/* Per uplink, the policies that send it new connections now, with its share of each. */
	renderCarries(st, name) {
		const shares = [];
		for (const [ policy, p ] of Object.entries(st.policies || {}))
			for (const [ list, family ] of [ [ p.active, '' ], [ p.active6, ' (IPv6)' ] ])
				for (const m of (list || []).filter((m) => m.interface == name))
					shares.push(E('div', { 'class': 'rail-carries', 'data-policy': policy }, [
						policy + family, ' ', E('strong', {}, [ m.percent + ' %' ]) ]));
		return shares.length ? shares : [ E('em', {}, [ _('none') ]) ];
	},

	/* Passive evidence (`option passive 1`): the LAN's new connections through the uplink
	 * and their answers, a confirming round in flight, the last suspicion. */
	renderPassive(p) {
		if (!p)
			return '';
		let line = _('Passive: %d new connections, %d answered').format(p.opened || 0, p.answered || 0);
		if (p.confirming)
			line += '; ' + _('confirming');
		if (p.suspicion)
			line += '; ' + _('last suspect: %s').format(p.suspicion);
		return E('div', { 'class': 'rail-passive' }, [ E('small', {}, [ line ]) ]);
	},

	renderUplinks(st) {
		const titles = [ _('Uplink'), _('State'), _('New connections'), _('Since'), _('Uptime'), _('Flows'), _('Sent'),
			_('Reason'), _('Service') ];
		const rows = Object.keys(st.interfaces).map((name) => {
			const ifc = st.interfaces[name];
			return row({ 'data-interface': name }, titles, [
				[ E('strong', {}, [ name ]), E('br'),
				  E('small', {}, [ [ ifc.device, ifc.address, ifc.address6 ].filter((x) => x).join(' · ') || '–' ]) ],
				/* A dual-stack uplink: `state` is IPv4's, `state6` IPv6's, each judged on its own. */
				ifc.state6 != null
					? E('span', {}, [ rail.badge(ifc.state), ' ', E('small', {}, [ 'IPv6' ]), ' ', rail.badge(ifc.state6) ])
					: rail.badge(ifc.state),
				this.renderCarries(st, name),
				rail.time(ifc.since),
				ifc.uptime > 0 ? rail.duration(ifc.uptime) : '–',
				String(ifc.flows != null ? ifc.flows : '–'),
				rail.bytes(ifc.tx_bytes),
				[ E('span', { 'class': 'rail-reason' }, [ ifc.reason || '' ]), this.renderPassive(ifc.passive) ],
				this.renderService(name, ifc)
			]);
		});
		return table('rail-uplinks', titles, rows, _('No uplinks configured'));
	},

	renderTargets(st) {
		const titles = [ _('Uplink'), _('Target'), _('State'), _('RTT'), _('Jitter'), _('Loss'), _('Replies') ];
		const rows = [];
		for (const name of Object.keys(st.interfaces))
			for (const t of (st.interfaces[name].targets || []))
				/* 'unknown': no probe of the current window has been answered or lost yet (the
				 * window starts afresh on a state change), so its loss of 0 means nothing. */
				rows.push(row({ 'data-interface': name, 'data-target': t.ip }, titles, [
					name,
					t.ip,
					t.state == 'unknown'
						? E('span', { 'class': 'rail-badge rail-state-unknown', 'title': _('No probe result in the current window yet') }, [ _('No data') ])
						: rail.badge(t.state),
					rail.ms(t.rtt_ms),
					rail.ms(t.jitter_ms),
					t.state == 'unknown' ? '–' : E('span', { 'class': t.loss > 0 ? 'rail-loss' : '' }, [ rail.percent(t.loss) ]),
					'%d / %d'.format(t.received || 0, t.sent || 0)
				]));
		return table('rail-targets', titles, rows, _('No probe targets: uplinks are judged by carrier alone'));
	},

	renderShares(policy) {
		if (!policy.active || !policy.active.length)
			return E('em', {}, [ _('No uplink available: last resort is %s').format(policy.last_resort) ]);
		return E('div', {}, policy.active.map((m) =>
			E('div', { 'class': 'rail-share', 'data-member': m.member }, [
				E('span', { 'class': 'rail-share-label' }, [
					E('strong', {}, [ m.interface ]), ' ',
					E('small', {}, [ _('%s, weight %d').format(m.member, m.weight) ])
				]),
				/* No title: LuCI's themes print a progress bar's title on it, and the share is beside it. */
				E('div', { 'class': 'cbi-progressbar' }, [
					E('div', { 'style': 'width:%d%%'.format(Math.max(0, Math.min(100, m.percent))) })
				]),
				E('span', { 'class': 'rail-share-percent' }, [ m.percent + ' %' ])
			])));
	},

	renderPolicies(st) {
		const titles = [ _('Policy'), _('New connections go to'), _('Last resort') ];
		const policies = st.policies || {};
		const rows = Object.keys(policies).map((name) =>
			row({ 'data-policy': name }, titles, [
				E('strong', {}, [ name ]),
				this.renderShares(policies[name]),
				policies[name].last_resort || '–'
			]));
		return table('rail-policies', titles, rows, _('No policies configured'));
	},

	renderTransitions(st) {
		const titles = [ _('Time'), _('Uplink'), _('Change'), _('Reason') ];
		/* Newest first; the daemon lists them oldest first, which orders equal seconds. */
		const recent = (st.transitions || []).slice().reverse()
			.sort((a, b) => b.time - a.time)
			.slice(0, MAX_TRANSITIONS);
		const rows = recent.map((tr) =>
			row({ 'data-interface': tr.interface }, titles, [
				rail.time(tr.time),
				tr.family ? '%s (%s)'.format(tr.interface, tr.family) : tr.interface,
				[ rail.badge(tr.from), ' → ', rail.badge(tr.to) ],
				E('span', { 'class': 'rail-reason' }, [ tr.reason || '' ])
			]));
		return table('rail-transitions', titles, rows, _('No state changes since rail started'));
	},

	renderBody(st) {
		if (st === rail.DENIED)
			return E('div', { 'class': 'alert-message warning rail-denied' }, [
				_('You are not allowed to see the state of rail: ask the administrator to grant the luci-app-rail access (ACL) to your user.')
			]);
		if (!st)
			return E('div', { 'class': 'alert-message error rail-absent' }, [
				_('rail is not running: the ubus object "rail" does not answer. Start it with /etc/init.d/rail start.')
			]);
		return E('div', {}, [
			this.renderBanner(st),
			section(_('Uplinks'), this.renderUplinks(st)),
			this.charts,
			section(_('Probe targets'), this.renderTargets(st)),
			section(_('Policies'), this.renderPolicies(st)),
			section(_('Recent transitions'), this.renderTransitions(st)),
			E('p', { 'class': 'rail-footer' }, [
				_('rail %s, running for %s').format(st.version, rail.duration(st.uptime))
			])
		].filter((n) => n));
	},

	refresh() {
		return rail.loadStatus().then((next) => dom.content(this.body, this.renderBody(next)));
	},

	render(st) {
		this.charts = history.render();
		const body = this.body = E('div', { 'id': 'rail-status' }, [ this.renderBody(st) ]);

		poll.add(() => this.refresh(), 5);

		return E([], [
			E('h2', {}, [ _('Multi-WAN (rail)') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Uplink health as rail probes it, and where new connections go. Existing connections stay on the uplink they started on.')
			]),
			body
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
