// menu.d and rpcd acl.d: every menu entry points at a view that loads, and the ACL
// grants exactly what the views use (read: rail status + uci rail; write: uci rail + reload).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { parseRequires, RESOURCES, createEnv } = require('../lib/luci-env');

const ROOT = path.resolve(__dirname, '../../../luci-app-rail/root/usr/share');
const menu = JSON.parse(fs.readFileSync(path.join(ROOT, 'luci/menu.d/luci-app-rail.json'), 'utf8'));
const acl = JSON.parse(fs.readFileSync(path.join(ROOT, 'rpcd/acl.d/luci-app-rail.json'), 'utf8'));

test('menu: status page under Status, config pages under Network, all behind the ACL', () => {
	assert.equal(menu['admin/status/rail'].action.path, 'rail/status');
	assert.equal(menu['admin/network/rail'].action.type, 'firstchild');
	for (const top of [ 'admin/status/rail', 'admin/network/rail' ])
		assert.deepEqual(menu[top].depends.acl, [ 'luci-app-rail' ]);
	const pages = Object.keys(menu).filter((k) => k.startsWith('admin/network/rail/'))
		.map((k) => menu[k].action.path);
	assert.deepEqual(pages.sort(), [ 'rail/globals', 'rail/interfaces', 'rail/members', 'rail/policies', 'rail/rules' ]);
});

test('every view in the menu exists and loads as a LuCI view', async () => {
	const views = Object.values(menu).filter((e) => e.action.type === 'view').map((e) => e.action.path);
	const uci = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/uci-rail.json'), 'utf8'));
	for (const v of views) {
		assert.ok(fs.existsSync(path.join(RESOURCES, 'view', v + '.js')), v);
		const env = createEnv({ status: JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/status.json'))), uci });
		const node = await env.renderView('view.' + v.replace(/\//g, '.'));
		assert.ok(node.textContent.length > 0, `${v} renders something`);
	}
});

test('ACL: read is rail status, history and the rail config; write is the rail config, reload and maintenance', () => {
	const a = acl['luci-app-rail'];
	assert.deepEqual(a.read.ubus, { rail: [ 'status', 'history' ] });
	assert.deepEqual(a.read.uci, [ 'rail' ]);
	assert.deepEqual(a.write.ubus, { rail: [ 'maintenance', 'reload' ] });
	assert.deepEqual(a.write.uci, [ 'rail' ]);
});

test('the ubus calls the pages make are all granted by the ACL', async () => {
	const grants = (part) => new Set(Object.entries(acl['luci-app-rail'][part].ubus)
		.flatMap(([ obj, methods ]) => methods.map((m) => `${obj}.${m}`)));
	const read = grants('read'), write = grants('write');
	const env = createEnv({ status: JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/status.json'))) });
	env.ubus.rail.maintenance = () => ({});
	await env.require('view.status.include.35_rail').load();
	const view = await env.renderView('view.rail.status');
	const button = view.querySelector('button.rail-service');
	button.click();
	await button.__pending;
	const called = new Set(env.rpc.calls.map((c) => `${c.object}.${c.method}`));
	assert.deepEqual([ ...called ].sort(), [ 'rail.history', 'rail.maintenance', 'rail.status' ]);
	assert.ok(read.has('rail.status'), 'reading the status is a read permission');
	assert.ok(read.has('rail.history'), 'reading the history is a read permission');
	assert.ok(write.has('rail.maintenance'), 'maintenance changes state: a write permission');
	assert.ok(!read.has('rail.maintenance'), 'read-only users cannot take uplinks out of service');
});

test('the overview widget is an include luci-mod-status picks up (view/status/include/NN_name.js)', () => {
	const files = fs.readdirSync(path.join(RESOURCES, 'view/status/include'));
	assert.deepEqual(files, [ '35_rail.js' ]);
	assert.match(files[0], /^\d\d_\w+\.js$/);
});

test('module directives are read like luci.js reads them', () => {
	assert.deepEqual(parseRequires("'use strict';\n'require view';\n'require tools.widgets as widgets';\nreturn 'x';"),
		[ { name: 'view', as: 'view' }, { name: 'tools.widgets', as: 'widgets' } ]);
	assert.deepEqual(parseRequires("'use strict';\nconst a = 'b';\n'require view';"), [],
		'a require after code is not a directive');
	assert.deepEqual(parseRequires("'require ui.x-y'"), [ { name: 'ui.x-y', as: 'ui_x_y' } ]);
});
