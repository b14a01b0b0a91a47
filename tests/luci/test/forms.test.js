// The configuration pages: each is a form.Map('rail') with the section type and the
// options of rail's UCI vocabulary (mwan3's names), widgets, choices and validators.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createEnv } = require('../lib/luci-env');
const fixtures = require('../lib/fixtures');
const { optionTables } = require('../lib/config-doc');

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

const PAGES = { globals: 'globals', interface: 'interfaces', member: 'members', policy: 'policies', rule: 'rules' };
const PREFIX = 'or(ipaddr("nomask"), cidr)';
// Choices LuCI offers fewer of than rail reads: syslog's aliases of the same levels.
const CHOICE_SUBSETS = { log_level: [ 'off', 'error', 'warn', 'info', 'debug', 'trace' ] };

// What a page must declare for one row of docs/config.md's option tables.
function checkOption(env, o, spec) {
	const where = `${spec.name} (${spec.type}, ${spec.allowed})`;
	const rail = env.require('rail');
	const list = /^list of |\(list or one\)$/.test(spec.type);
	const base = spec.type.replace(/^list of /, '').replace(/ \(list or one\)$/, '');
	const w = widget(env.form, o);

	if (base === 'boolean')
		assert.equal(w, 'Flag', where);
	else if (base === 'choice')
		assert.equal(w, 'ListValue', where);
	else if (list)
		assert.equal(w, 'DynamicList', where);
	else if (base === 'name')
		assert.ok([ 'Value', 'ListValue' ].includes(w), where);
	else
		assert.equal(w, 'Value', where);

	const d = spec.default;
	if (d.value != null && w === 'Flag')
		assert.equal(o.default == null ? '0' : o.default, d.value, `${where}: default`);
	else if (d.value != null && w === 'ListValue')
		assert.equal(o.default, d.value, `${where}: default`);
	else if (d.value != null)
		assert.equal(o.placeholder, d.value, `${where}: placeholder shows the default`);
	else if (d.derived)
		assert.equal(o.placeholder, d.derived, `${where}: placeholder says how the default is derived`);
	else if (d.required)
		assert.equal(o.rmempty, false, `${where}: required`);

	const range = /^(\S+?)\.\.([^\s,]+)/.exec(spec.allowed);
	const ok = (v) => assert.equal(o.validate(o.section.sectiontype, v), true, `${where}: '${v}' accepted`);
	const bad = (v) => assert.equal(typeof o.validate(o.section.sectiontype, v), 'string', `${where}: '${v}' rejected`);
	switch (base) {
	case 'integer':
		assert.equal(o.datatype, `range(${range[1]}, ${range[2]})`, where);
		break;
	case 'duration': {
		const [ lo, hi ] = [ rail.parseDuration(range[1]), rail.parseDuration(range[2]) ];
		ok(range[1]);
		ok(range[2]);
		bad(`${hi + 1}ms`);
		if (lo > 0)
			bad(`${lo / 2}ms`);
		bad('soon');
		break;
	}
	case 'choice': {
		const allowed = spec.allowed.split(', ');
		if (CHOICE_SUBSETS[spec.name]) {
			assert.deepEqual(o.keylist, CHOICE_SUBSETS[spec.name], where);
			assert.ok(o.keylist.every((k) => allowed.includes(k)), where);
		} else {
			assert.deepEqual(o.keylist.slice().sort(), allowed.slice().sort(), where);
		}
		break;
	}
	case 'address':
		assert.equal(o.datatype, 'ipaddr("nomask")', where);
		break;
	case 'prefix':
		assert.equal(o.datatype, PREFIX, where);
		break;
	case 'ports':
		assert.equal(o.datatype, 'portrange', where);
		break;
	case 'device':
		assert.equal(o.datatype, 'netdevname', where);
		break;
	case 'DNS name':
		assert.equal(o.datatype, 'or(hostname, ".")', where);
		break;
	case 'protocol':
		for (const name of spec.allowed.replace(/ or a number.*$/, '').split(', '))
			ok(name);
		ok('255');
		bad('256');
		bad('quic');
		break;
	case 'rate': {
		const [ lo, hi ] = [ rail.parseRate(range[1]), rail.parseRate(range[2]) ];
		ok(range[1]);
		ok(range[2]);
		bad(`${hi + 1}kbit`);
		bad(`${lo - 1}kbit`);
		bad('fast');
		break;
	}
	case 'mask':
		ok(d.value);
		bad('0x5');
		break;
	case 'path':
		ok('/etc/rail.user');
		bad('rail.user');
		break;
	case 'name':
		if (w === 'Value')
			assert.equal(o.datatype, 'uciname', where);
		break;
	case 'boolean':
		break;
	default:
		assert.fail(`${where}: no check for type '${base}'; teach forms.test.js about it`);
	}
}

for (const [ type, specs ] of Object.entries(optionTables())) {
	test(`${PAGES[type] || type} page matches docs/config.md's '${type}' options: names, widgets, defaults, ranges`, async () => {
		assert.ok(PAGES[type], `no configuration page for section type '${type}'`);
		const { env, map, opts, view } = await page(PAGES[type]);
		assert.equal(map.config, 'rail');
		assert.deepEqual(map.children.map((s) => s.sectiontype), [ type ]);
		const declared = opts(type);
		assert.deepEqual(Object.keys(declared).sort(), specs.map((o) => o.name).sort(), 'the same option names');
		for (const spec of specs)
			checkOption(env, declared[spec.name], spec);
		// and the rendered page shows every one of them
		const shown = [ ...view.querySelectorAll(`.cbi-section[data-section-type="${type}"] > .cbi-value`) ]
			.map((n) => n.dataset.option);
		assert.deepEqual(shown.sort(), specs.map((o) => o.name).sort());
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

test('every option of a grid page can be changed: in the section editor, or editable in the table', async () => {
	for (const name of [ 'interfaces', 'members', 'policies', 'rules' ]) {
		const { env, map } = await page(name);
		const s = map.children[0];
		assert.equal(s.constructor, env.form.GridSection, name);
		const editor = s.editorOptions();
		const inTable = s.tableOptions().filter((o) => o.editable);
		for (const o of s.children)
			assert.ok(editor.includes(o) || inTable.includes(o), `${name}: ${o.option} cannot be edited anywhere`);
	}
});

test('interfaces: choices, tabs and quality options that only matter with check_quality', async () => {
	const { opts } = await page('interfaces');
	const o = opts('interface');
	for (const q of [ 'failure_latency', 'recovery_latency', 'failure_loss', 'recovery_loss' ])
		assert.deepEqual(o[q].deplist, [ { check_quality: '1' } ], q);
	assert.deepEqual(o.track_port.deplist, [ { track_method: 'tcp' } ]);
	assert.deepEqual(o.track_dns_name.deplist, [ { track_method: 'dns' } ]);
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
	assert.ok(env.uci.loaded.includes('rail'));
});

test('policies: member choices are the configured members; last resort choices', async () => {
	const { opts } = await page('policies');
	const o = opts('policy');
	assert.deepEqual(o.use_member.keylist, [ 'wan_m1_w3', 'lte_m1_w1', 'wanb_m2_w1' ]);
	assert.equal(o.use_member.vallist[0], 'wan_m1_w3 (wan, metric 1, weight 3)');
});

test('rules: policy choices, protocol check, sticky timeout, ordered list', async () => {
	const { map, opts } = await page('rules');
	const o = opts('rule');
	assert.deepEqual(o.use_policy.keylist, [ 'balanced', 'wan_first', 'wanb_only', 'default', 'unreachable', 'blackhole' ]);
	assert.equal(o.proto.validate('r', 'udp'), true);
	assert.equal(typeof o.proto.validate('r', 'quic'), 'string');
	assert.deepEqual(o.timeout.deplist, [ { sticky: '1' } ]);
	assert.equal(o.timeout.validate('r', '600'), true);
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
});
