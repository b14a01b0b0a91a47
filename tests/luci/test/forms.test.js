// The configuration pages: each is a form.Map('rail') with the section type and the
// options of rail's UCI vocabulary (mwan3's names), widgets, choices and validators.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createEnv } = require('../lib/luci-env');
const fixtures = require('../lib/fixtures');

async function page(name) {
	const env = createEnv({ uci: fixtures.uci() });
	const view = await env.renderView('view.rail.' + name);
	const mapNode = view.querySelector('.cbi-map');
	assert.ok(mapNode, `${name}: no .cbi-map rendered`);
	const map = mapNode.__map;
	const opts = (type) => {
		const s = map.children.find((sec) => sec.sectiontype === type);
		assert.ok(s, `${name}: no section of type ${type}`);
		return Object.fromEntries(s.children.map((o) => [ o.option, o ]));
	};
	return { env, view, map, opts };
}

// The name of the form class an option was made with.
const widget = (form, o) => [ 'Value', 'Flag', 'ListValue', 'DynamicList', 'MultiValue', 'DummyValue' ]
	.find((k) => o.constructor === form[k]);

// Option name -> widget, per section type: the contract with src/config (issue 2's vocabulary).
const VOCABULARY = {
	interfaces: { type: 'interface', options: {
		enabled: 'Flag', family: 'ListValue', device: 'Value', gateway: 'Value', initial_state: 'ListValue',
		track_method: 'ListValue', track_ip: 'DynamicList', track_port: 'Value', track_dns_name: 'Value',
		reliability: 'Value', count: 'Value', timeout: 'Value', interval: 'Value',
		failure_interval: 'Value', recovery_interval: 'Value', down: 'Value', up: 'Value', hold: 'Value',
		check_quality: 'Flag', failure_latency: 'Value', recovery_latency: 'Value',
		failure_loss: 'Value', recovery_loss: 'Value', ttl: 'Value', size: 'Value',
		flush_conntrack: 'Flag', masquerade: 'Flag'
	} },
	members: { type: 'member', options: { interface: 'ListValue', metric: 'Value', weight: 'Value' } },
	policies: { type: 'policy', options: { use_member: 'DynamicList', last_resort: 'ListValue' } },
	rules: { type: 'rule', options: {
		src_ip: 'DynamicList', dest_ip: 'DynamicList', src_port: 'DynamicList', dest_port: 'DynamicList',
		proto: 'Value', src_dev: 'DynamicList', ipset: 'Value', family: 'ListValue', sticky: 'Flag',
		timeout: 'Value', use_policy: 'ListValue'
	} },
	globals: { type: 'globals', options: {
		enabled: 'Flag', mark_mask: 'Value', hook: 'DynamicList', hook_timeout: 'Value', log_level: 'ListValue'
	} }
};

for (const [ name, want ] of Object.entries(VOCABULARY)) {
	test(`${name} page: Map('rail'), section '${want.type}', exactly rail's options with the right widgets`, async () => {
		const { env, map, opts, view } = await page(name);
		assert.equal(map.config, 'rail');
		assert.deepEqual(map.children.map((s) => s.sectiontype), [ want.type ]);
		const got = Object.fromEntries(Object.entries(opts(want.type)).map(([ k, o ]) => [ k, widget(env.form, o) ]));
		assert.deepEqual(got, want.options);
		// and the rendered page shows every one of them
		const shown = [ ...view.querySelectorAll(`.cbi-section[data-section-type="${want.type}"] > .cbi-value`) ]
			.map((n) => n.dataset.option);
		assert.deepEqual(shown.sort(), Object.keys(want.options).sort());
	});
}

test('interfaces: one editable list per uplink, grid columns kept short', async () => {
	const { env, map, opts, view } = await page('interfaces');
	const s = map.children[0];
	assert.equal(s.constructor, env.form.GridSection);
	assert.ok(s.addremove && !s.anonymous);
	const grid = Object.values(opts('interface')).filter((o) => !o.modalonly).map((o) => o.option);
	assert.deepEqual(grid, [ 'enabled', 'family', 'track_method', 'track_ip', 'interval', 'down', 'up' ]);
	// the configured uplinks are listed with their values
	const nodes = [ ...view.querySelectorAll('.cbi-section-node') ].map((n) => n.dataset.sectionId);
	assert.deepEqual(nodes, [ 'wan', 'wanb', 'lte' ]);
	const wanTargets = view.querySelector('[data-section-id="wan"] [data-option="track_ip"]');
	assert.equal(wanTargets.textContent, '198.18.0.1 198.18.0.2');
});

test('interfaces: choices, tabs and quality options that only matter with check_quality', async () => {
	const { opts } = await page('interfaces');
	const o = opts('interface');
	assert.deepEqual(o.track_method.keylist, [ 'ping', 'arping', 'tcp', 'dns' ]);
	assert.deepEqual(o.family.keylist, [ 'ipv4', 'ipv6' ]);
	assert.deepEqual(o.initial_state.keylist, [ 'online', 'offline' ]);
	for (const q of [ 'failure_latency', 'recovery_latency', 'failure_loss', 'recovery_loss' ])
		assert.deepEqual(o[q].deplist, [ { check_quality: '1' } ], q);
	assert.deepEqual(o.track_port.deplist, [ { track_method: 'tcp' } ]);
	assert.deepEqual(o.track_dns_name.deplist, [ { track_method: 'dns' } ]);
	assert.equal(o.track_ip.datatype, 'ipaddr("nomask")');
	assert.equal(o.device.datatype, 'netdevname');
	assert.equal(o.gateway.datatype, 'ipaddr("nomask")');
	assert.equal(o.failure_loss.datatype, 'range(0, 100)');
	for (const opt of Object.values(o))
		assert.ok(opt.tab, `${opt.option} sits in a tab`);
});

test('interfaces: timings take rail durations and refuse anything else', async () => {
	const { opts } = await page('interfaces');
	const o = opts('interface');
	for (const t of [ 'timeout', 'interval', 'failure_interval', 'recovery_interval', 'hold' ]) {
		assert.equal(typeof o[t].validate, 'function', `${t} has a validator`);
		assert.equal(o[t].validate('wan', '0.2'), true, `${t} 0.2`);
		assert.equal(o[t].validate('wan', '200ms'), true, `${t} 200ms`);
		assert.equal(typeof o[t].validate('wan', 'soon'), 'string', `${t} soon`);
	}
});

test('members: interface choices are the configured uplinks; metric and weight ranges', async () => {
	const { env, opts } = await page('members');
	const o = opts('member');
	assert.deepEqual(o.interface.keylist, [ 'wan', 'wanb', 'lte' ]);
	assert.equal(o.metric.datatype, 'range(1, 256)');
	assert.equal(o.weight.datatype, 'range(1, 1000)');
	assert.ok(env.uci.loaded.includes('rail'));
});

test('policies: member choices are the configured members; last resort choices', async () => {
	const { opts } = await page('policies');
	const o = opts('policy');
	assert.deepEqual(o.use_member.keylist, [ 'wan_m1_w3', 'lte_m1_w1', 'wanb_m2_w1' ]);
	assert.equal(o.use_member.vallist[0], 'wan_m1_w3 (wan, metric 1, weight 3)');
	assert.deepEqual(o.last_resort.keylist, [ 'unreachable', 'blackhole', 'default' ]);
});

test('rules: policy choices, protocol check, sticky timeout, ordered list', async () => {
	const { map, opts } = await page('rules');
	const o = opts('rule');
	assert.deepEqual(o.use_policy.keylist, [ 'balanced', 'wan_first', 'wanb_only', 'default', 'unreachable', 'blackhole' ]);
	assert.equal(o.proto.validate('r', 'udp'), true);
	assert.equal(typeof o.proto.validate('r', 'quic'), 'string');
	assert.deepEqual(o.timeout.deplist, [ { sticky: '1' } ]);
	assert.equal(o.timeout.validate('r', '600'), true);
	assert.deepEqual(o.family.keylist, [ '', 'ipv4', 'ipv6' ]);
	assert.equal(o.dest_ip.datatype, 'ipmask');
	assert.equal(o.dest_port.datatype, 'portrange');
	assert.ok(map.children[0].sortable, 'first match wins, so rules can be reordered');
});

test('globals: one section; it can be added only when the file has none', async () => {
	const { map } = await page('globals');
	assert.equal(map.children[0].addremove, false);
	const uci = fixtures.uci();
	delete uci.rail.globals;
	const env = createEnv({ uci });
	const view = await env.renderView('view.rail.globals');
	assert.equal(view.querySelector('.cbi-map').__map.children[0].addremove, true);
});

test('globals: mark mask and hook timeout are checked', async () => {
	const { opts } = await page('globals');
	const o = opts('globals');
	assert.equal(o.mark_mask.validate('g', '0x3F000000'), true);
	assert.equal(typeof o.mark_mask.validate('g', '0x0F0F0000'), 'string');
	assert.equal(typeof o.hook_timeout.validate('g', 'ten'), 'string');
	assert.deepEqual(o.log_level.keylist, [ 'error', 'warn', 'info', 'debug' ]);
});
