'use strict';
'require baseclass';
'require rpc';

/*
 * Shared by luci-app-rail's status page and its Status overview widget: the ubus
 * calls they make, how an uplink state looks, and how numbers are printed.
 * Also what the configuration pages share: the page skeleton and validators for
 * rail's own value syntax.
 */

const callStatus = rpc.declare({
	object: 'rail',
	method: 'status',
	expect: { '': {} }
});

/*
 * Take an uplink out of service (enable true) or put it back; needs the ACL's write part.
 * rpc.js resolves with the bare status number when a method answers a ubus error,
 * unless the declaration asks it to reject: a refusal must reach the page.
 */
const callMaintenance = rpc.declare({
	object: 'rail',
	method: 'maintenance',
	params: [ 'interface', 'enable' ],
	reject: true
});

/* What loadStatus() gives when the session's ACL does not grant `rail status`. */
const DENIED = Object.freeze({ denied: true });

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

/* The protocol names rail's config reader knows ('any' is the same as 'all'). */
const PROTOCOLS = [ 'all', 'any', 'tcp', 'udp', 'icmp', 'icmpv6', 'ipv6-icmp', 'gre', 'esp', 'ah', 'sctp', 'udplite' ];

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
	callMaintenance: callMaintenance,

	DENIED: DENIED,

	/*
	 * A status document; null when the rail ubus object is not there (daemon stopped);
	 * DENIED when uhttpd refuses the call (JSON-RPC error -32002: the user lacks the
	 * luci-app-rail ACL), which must not read as a stopped daemon.
	 */
	loadStatus() {
		return callStatus().then((st) => (st && typeof st.interfaces == 'object') ? st : null,
			(e) => / -32002: /.test(e.message) ? DENIED : null);
	},

	/* The text of an RPC error without the stack trace L.raise() appends to its message. */
	errorText(e) {
		return String(e && e.message != null ? e.message : e).split('\n')[0];
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

	/*
	 * A duration as rail's config reader takes it, in milliseconds (null if it is not one):
	 * seconds with an optional fraction ('0.2', '.5', '1.'), or a number with a unit
	 * ('200ms', '1.5s', '2m', '1h'); at most nanosecond precision and 2^64 ns.
	 */
	parseDuration(text) {
		const m = /^(\d*)(?:\.(\d*))?(ms|s|m|h)?$/.exec(String(text));
		if (!m || (m[1] === '' && !m[2]) || (m[2] || '').length > 9)
			return null;
		const unit = { 'ms': 1, 's': 1000, 'm': 60000, 'h': 3600000 }[m[3] || 's'];
		const ms = Number((m[1] || '0') + '.' + (m[2] || '0')) * unit;
		return ms * 1e6 < 2 ** 64 ? ms : null;
	},

	/* A validator for a duration option allowed from `min` to `max` (both written as in the file). */
	durationIn(min, max) {
		return this.inRange((text) => this.parseDuration(text), min, max,
			_('Expecting seconds (0.5, 2) or a number with ms, s, m or h (200ms, 10m)'));
	},

	/* A rate as rail reads it, in whole kbit/s (null if it is not one): a number and a unit,
	 * kbit, mbit or gbit, in any case ('20mbit', '512kbit', '1.5Gbit'). */
	parseRate(text) {
		const m = /^(\d*\.?\d*)(kbit|mbit|gbit)$/.exec(String(text).toLowerCase());
		if (!m || !/\d/.test(m[1]))
			return null;
		return Math.round(Number(m[1]) * { 'kbit': 1, 'mbit': 1e3, 'gbit': 1e6 }[m[2]]);
	},

	/* A validator for a rate option allowed from `min` to `max` (written as in the file). */
	rateIn(min, max) {
		return this.inRange((text) => this.parseRate(text), min, max,
			_('Expecting a rate with its unit, e.g. 20mbit or 512kbit'));
	},

	/* A validator: `parse` must read the value (else `syntax` is the error), and the result
	 * must lie from `min` to `max`, which are written as in the file. Empty is unset. */
	inRange(parse, min, max, syntax) {
		const lo = parse(min), hi = parse(max);
		return (section_id, value) => {
			if (value == null || value === '')
				return true;
			const v = parse(value);
			if (v == null)
				return syntax;
			if (v < lo || v > hi)
				return _('Expecting a value from %s to %s').format(min, max);
			return true;
		};
	},

	/* The fwmark bits rail owns: one non-empty, contiguous run of bits (e.g. 0x3F000000). */
	validateMarkMask(section_id, value) {
		if (value == null || value === '')
			return true;
		if (!/^(?:0x[0-9a-f]{1,8}|\d+)$/i.test(value))
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

	/* A protocol name as rail reads it (any case), or an IP protocol number 0-255. */
	validateProto(section_id, value) {
		if (value == null || value === '' || PROTOCOLS.includes(String(value).toLowerCase()))
			return true;
		if (/^\d+$/.test(value) && +value <= 255)
			return true;
		return _('Expecting %s or a protocol number 0-255').format(PROTOCOLS.join(', '));
	},

	/* Hooks are run without a shell, so they must be absolute paths. */
	validatePath(section_id, value) {
		if (value == null || value === '' || /^\/[^\s]*[^\/\s]$/.test(value))
			return true;
		return _('Expecting the absolute path of an executable, e.g. /etc/rail.user');
	}
});
