// What LuCI's own framework does (luci.js, rpc.js, uci.js, as read in the luci-base sources
// and seen in Chromium against rpcd and uhttpd) and the views depend on: the stand-ins in
// lib/ must do the same, so that a view relying on something LuCI does not do fails here.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createEnv, parseRequires } = require('../lib/luci-env');
const fixtures = require('../lib/fixtures');

const declare = (env, opts) => env.rpc.declare(Object.assign({ object: 'rail', method: 'maintenance',
	params: [ 'interface', 'enable' ] }, opts));

test('rpc: a non-zero ubus status resolves with the number unless declared reject: true', async () => {
	const env = createEnv({ status: fixtures.status() });
	env.ubus.rail.maintenance = () => env.rpc.status(2);
	assert.equal(await declare(env)('wan', true), 2);
	await assert.rejects(declare(env, { reject: true })('wan', true), (e) =>
		e.name === 'RPCError' && /^RPC call to rail\/maintenance failed with ubus code 2: Invalid argument\n  at /.test(e.message));
});

test('rpc: an answer without data is the status 0; data goes through expect', async () => {
	const env = createEnv({ status: fixtures.status() });
	env.ubus.rail.maintenance = () => null;
	assert.equal(await declare(env)('wan', true), 0);
	assert.deepEqual(await declare(env, { expect: { '': {} } })('wan', true), {});
	env.ubus.rail.maintenance = () => ({ list: [ 1 ] });
	assert.deepEqual(await declare(env, { expect: { list: [] } })('wan', true), [ 1 ]);
	assert.deepEqual(await declare(env, { expect: { list: {} } })('wan', true), {}, 'wrong type: the default');
});

test('rpc: a missing object or method, and a denied call, as uhttpd answers them', async () => {
	const env = createEnv({ status: fixtures.status() });
	await assert.rejects(env.rpc.declare({ object: 'nothere', method: 'x' })(),
		/failed with error -32000: Object not found/);
	assert.equal(await env.rpc.declare({ object: 'rail', method: 'nosuch' })(), 3, 'Method not found is a ubus status');
	env.rpc.denied.add('rail.status');
	await assert.rejects(env.rpc.declare({ object: 'rail', method: 'status' })(), /failed with error -32002: Access denied/);
	env.status = undefined;
	await assert.rejects(env.rpc.declare({ object: 'rail', method: 'status' })(), /-32000: Object not found/,
		'the object lookup comes before the ACL check');
});

test('uci: a config is empty until load() fetched it; get without option is the section', async () => {
	const env = createEnv({ uci: fixtures.uci() });
	assert.deepEqual(env.uci.sections('rail', 'interface'), []);
	assert.equal(env.uci.get('rail', 'wan', 'enabled'), null);
	await env.uci.load('rail');
	const ifaces = env.uci.sections('rail', 'interface');
	assert.ok(ifaces.length > 0);
	assert.deepEqual(ifaces.map((s) => s['.index']), ifaces.map((s) => s['.index']).sort((a, b) => a - b));
	const first = ifaces[0]['.name'];
	assert.equal(env.uci.get('rail', first)['.type'], 'interface');
	assert.equal(env.uci.get('rail', '@interface[0]')['.name'], first);
	assert.equal(env.uci.get('rail', '@interface[-1]')['.name'], ifaces[ifaces.length - 1]['.name']);
	assert.deepEqual(await env.uci.load('rail'), [], 'a second load fetches nothing');
});

test('baseclass: a class is not its own subclass, and needs new', () => {
	const env = createEnv();
	const Base = env.require('baseclass');
	const Sub = Base.extend({ __init__() { this.made = true; } });
	const SubSub = Sub.extend({});
	assert.equal(Sub.isSubclass(Sub), false);
	assert.equal(Sub.isSubclass(SubSub), true);
	assert.equal(new SubSub().made, true, '__init__ is inherited');
	assert.throws(() => Sub(), /without "new"/);
});

test('require directives: comments between them are skipped, as luci.js does', () => {
	assert.deepEqual(parseRequires("'use strict';\n/* it's the 'require x' of a comment */\n'require view';\n// don't\n'require rpc';\nconst z = 'b';\n'require y';"),
		[ { name: 'view', as: 'view' }, { name: 'rpc', as: 'rpc' } ]);
});

test('poll: interval 0 means 5 s; a function still running is not called again', async () => {
	const env = createEnv();
	let calls = 0, finish;
	const slow = () => { calls++; return new Promise((r) => { finish = r; }); };
	env.poll.add(slow, 0);
	assert.equal(env.poll.queue[0].interval, 5);
	const pending = env.poll.tick();
	for (let i = 0; i < 9; i++)
		env.poll.tick();
	assert.equal(calls, 1, 'skipped while the first call is pending');
	finish();
	await Promise.all(pending);
	for (let i = 0; i < 5; i++)
		env.poll.tick();
	assert.equal(calls, 2);
});

test('view: a page that keeps the save handlers gets the Save & Apply footer', async () => {
	const env = createEnv({ uci: fixtures.uci() });
	const view = await env.renderView('view.rail.members');
	const footer = view.querySelector('.cbi-page-actions');
	assert.ok(footer, 'footer rendered');
	assert.deepEqual([ ...footer.querySelectorAll('button') ].map((b) => b.textContent), [ 'Save & Apply', 'Save', 'Reset' ]);
});
