// fixtures/status.json must stay the status document the daemon emits (its exact shape is
// checked against the daemon's own type by tests/luci/main.rs); this adds what the type
// does not say: the state words the views colour, and that references resolve.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fixtures = require('../lib/fixtures');

const STATES = [ 'up', 'suspect', 'down', 'recovering', 'disabled', 'no-device', 'maintenance' ];
const num = (v) => typeof v === 'number' && isFinite(v);
const numOrNull = (v) => v === null || num(v);
const strOrNull = (v) => v === null || typeof v === 'string';

function check(where, obj, shape) {
	assert.equal(typeof obj, 'object', `${where}: object expected`);
	for (const [ key, ok ] of Object.entries(shape))
		assert.ok(ok(obj[key]), `${where}.${key}: unexpected ${JSON.stringify(obj[key])}`);
}

test('the fixture has the shape of `rail status --json`', () => {
	const st = fixtures.status();
	check('status', st, {
		version: (v) => typeof v === 'string',
		uptime: num,
		all_targets_lost: (v) => typeof v === 'boolean',
		interfaces: (v) => v && typeof v === 'object',
		policies: (v) => v && typeof v === 'object',
		transitions: Array.isArray
	});
	for (const [ name, ifc ] of Object.entries(st.interfaces)) {
		check(`interfaces.${name}`, ifc, {
			state: (v) => STATES.includes(v), family: (v) => [ 'ipv4', 'ipv6' ].includes(v),
			device: strOrNull, ifindex: numOrNull, address: strOrNull, gateway: strOrNull,
			mark: (v) => /^0x[0-9a-f]{8}$/.test(v),
			since: num, uptime: num, reason: (v) => typeof v === 'string',
			flows: num, tx_bytes: num, targets: Array.isArray
		});
		ifc.targets.forEach((t, i) => check(`interfaces.${name}.targets[${i}]`, t, {
			ip: (v) => typeof v === 'string', state: (v) => STATES.includes(v),
			rtt_ms: numOrNull, jitter_ms: numOrNull, loss: num, sent: num, received: num
		}));
	}
	for (const [ name, pol ] of Object.entries(st.policies)) {
		check(`policies.${name}`, pol, { last_resort: (v) => typeof v === 'string', active: Array.isArray });
		pol.active.forEach((m, i) => check(`policies.${name}.active[${i}]`, m, {
			member: (v) => typeof v === 'string', interface: (v) => v in st.interfaces,
			weight: num, percent: num
		}));
	}
	st.transitions.forEach((tr, i) => check(`transitions[${i}]`, tr, {
		time: num, interface: (v) => v in st.interfaces,
		from: (v) => STATES.includes(v), to: (v) => STATES.includes(v), reason: (v) => typeof v === 'string'
	}));
});

test('the fixture exercises what the views must show: several states, lost targets, shares, an empty policy', () => {
	const st = fixtures.status();
	const states = new Set(Object.values(st.interfaces).map((i) => i.state));
	assert.ok(states.size >= 2, 'at least two different uplink states');
	const seen = new Set(st.transitions.flatMap((t) => [ t.from, t.to ]));
	assert.ok(seen.size >= 4, `transitions through at least four states (${[ ...seen ]})`);
	assert.ok(Object.values(st.interfaces).some((i) => i.targets.some((t) => t.rtt_ms === null)));
	assert.ok(Object.values(st.policies).some((p) => p.active.length === 0));
	assert.ok(Object.values(st.policies).some((p) => p.active.length > 1));
	assert.ok(st.transitions.length >= 2);
});
