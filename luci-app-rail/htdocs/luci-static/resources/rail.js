'use strict';
'require baseclass';
'require rpc';

/*
 * Shared by luci-app-rail's status page and its Status overview widget: the one
 * ubus call they make, how an uplink state looks, and how numbers are printed.
 * Also what the configuration pages share: the page skeleton and validators for
 * rail's own value syntax.
 */

const callStatus = rpc.declare({
	object: 'rail',
	method: 'status',
	expect: { '': {} }
});

/* The states `rail status` reports for an uplink, in the order a reader cares about. */
const STATES = {
	'up':          { label: _('Up'),          hint: _('Probes answer; carries traffic') },
	'suspect':     { label: _('Suspect'),     hint: _('Up, but recent probes failed') },
	'recovering':  { label: _('Recovering'),  hint: _('Probes answer again; waiting for enough good rounds') },
	'down':        { label: _('Down'),        hint: _('Probes fail; no new connections use it') },
	'no-device':   { label: _('No device'),   hint: _('The network device is missing or has no carrier') },
	'maintenance': { label: _('Maintenance'), hint: _('Taken out of service by the administrator') },
	'disabled':    { label: _('Disabled'),    hint: _('Disabled in the configuration') }
};

document.querySelector('head').appendChild(E('link', {
	'rel': 'stylesheet',
	'type': 'text/css',
	'href': L.resource('view/rail/rail.css')
}));

function pad2(n) {
	return (n < 10 ? '0' : '') + n;
}

return baseclass.extend({
	callStatus: callStatus,

	/* A status document, or null when the rail ubus object is not there (daemon stopped). */
	loadStatus() {
		return L.resolveDefault(callStatus(), null).then((st) =>
			(st && typeof st.interfaces == 'object') ? st : null);
	},

	stateClass(state) {
		return 'rail-state-' + (STATES[state] ? state : 'unknown');
	},

	badge(state) {
		const known = STATES[state];
		return E('span', {
			'class': 'rail-badge ' + this.stateClass(state),
			'title': known ? known.hint : _('Unknown state')
		}, [ known ? known.label : String(state) ]);
	},

	/* "3d 4h", "2h 5m", "5m 12s", "42s": the largest unit and the next one. */
	duration(secs) {
		if (secs == null || isNaN(secs) || secs < 0)
			return '–';
		secs = Math.floor(secs);
		const units = [ [ 86400, 'd' ], [ 3600, 'h' ], [ 60, 'm' ], [ 1, 's' ] ];
		const i = units.findIndex(([ size ]) => secs >= size);
		if (i < 0)
			return '0s';
		const out = [ Math.floor(secs / units[i][0]) + units[i][1] ];
		const next = units[i + 1];
		if (next && Math.floor((secs % units[i][0]) / next[0]) > 0)
			out.push(Math.floor((secs % units[i][0]) / next[0]) + next[1]);
		return out.join(' ');
	},

	/* Local wall-clock time of a unix timestamp, "2025-11-22 00:13:20". */
	time(unix) {
		if (!unix)
			return '–';
		const d = new Date(unix * 1000);
		return '%d-%s-%s %s:%s:%s'.format(d.getFullYear(), pad2(d.getMonth() + 1), pad2(d.getDate()),
			pad2(d.getHours()), pad2(d.getMinutes()), pad2(d.getSeconds()));
	},

	bytes(n) {
		if (n == null || isNaN(n))
			return '–';
		const units = [ 'B', 'KiB', 'MiB', 'GiB', 'TiB' ];
		let i = 0;
		while (n >= 1024 && i < units.length - 1) {
			n /= 1024;
			i++;
		}
		return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
	},

	ms(v) {
		return (v == null || isNaN(v)) ? '–' : v.toFixed(1) + ' ms';
	},

	percent(v) {
		if (v == null || isNaN(v))
			return '–';
		return (Number.isInteger(v) ? String(v) : v.toFixed(1)) + ' %';
	},

	/* Mean RTT over the targets that answer, and mean loss over all of them. */
	summarize(iface) {
		const targets = Array.isArray(iface.targets) ? iface.targets : [];
		const answering = targets.filter((t) => t.rtt_ms != null);
		const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
		return {
			rtt_ms: answering.length ? mean(answering.map((t) => t.rtt_ms)) : null,
			loss: targets.length ? mean(targets.map((t) => t.loss || 0)) : null
		};
	},

	/* A configuration page: form.Map('rail') with one editable grid of named `type` sections. */
	gridPage(form, type, title, description, sectionTitle) {
		const m = new form.Map('rail', title, description);
		const s = m.section(form.GridSection, type, sectionTitle);
		s.addremove = true;
		s.anonymous = false;
		s.nodescriptions = true;
		return [ m, s ];
	},

	/* rail's durations: seconds with an optional fraction ('0.2') or milliseconds ('200ms'). */
	validateDuration(section_id, value) {
		if (value == null || value === '')
			return true;
		if (/^(?:\d+(?:\.\d+)?|\.\d+)$/.test(value) || /^\d+ms$/.test(value))
			return true;
		return _('Expecting seconds (e.g. 0.5 or 2) or milliseconds (e.g. 200ms)');
	},

	/* The fwmark bits rail owns: one non-empty, contiguous run of bits (e.g. 0x3F000000). */
	validateMarkMask(section_id, value) {
		if (value == null || value === '')
			return true;
		if (!/^(?:0x[0-9a-fA-F]{1,8}|\d+)$/.test(value))
			return _('Expecting a 32-bit number such as 0x3F000000');
		const n = Number(value);
		if (n == 0 || n > 0xffffffff)
			return _('The mask must be non-zero and fit in 32 bits');
		let v = n;
		while (v % 2 == 0)                       /* drop the trailing zero bits */
			v /= 2;
		while (v % 2 == 1)                       /* then the run of one bits */
			v = (v - 1) / 2;
		if (v != 0)
			return _('The mask must be one contiguous run of bits');
		return true;
	},

	/* all, tcp, udp, icmp or an IP protocol number. */
	validateProto(section_id, value) {
		if (value == null || value === '' || /^(?:all|tcp|udp|icmp)$/.test(value))
			return true;
		if (/^\d+$/.test(value) && +value <= 255)
			return true;
		return _('Expecting all, tcp, udp, icmp or a protocol number 0-255');
	}
});
