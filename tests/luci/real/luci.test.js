// luci-app-rail in headless Chromium on LuCI's own framework, rpcd and uhttpd, with rail
// running in the lab against the same ubusd (tests/luci/real/run.sh sets it all up).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { Browser, sleep, takeErrors, login, open, ubusStatus, lab, railCheck, conf, reloads, shot } = require('./session');

let browser, root;

test.before(async () => {
	browser = await Browser.launch();
	root = await login(browser, 'root', 'rail');
});

test.after(async () => {
	if (browser)
		await browser.close();
});

/* Every page a test opened must have run without a JavaScript error. */
test.afterEach(() => {
	if (root)
		assert.deepEqual(takeErrors(root), [], 'no console error, exception or failed load');
});

const stateText = (iface) => `(() => { const td = document.querySelector('tr[data-interface="${iface}"] td[data-title="State"]');
	return td ? td.innerText.trim() : null; })()`;

/* Labels the views give the daemon's states (rail.js). */
const LABEL = { 'up': 'Up', 'down': 'Down', 'maintenance': 'Maintenance', 'suspect': 'Suspect', 'recovering': 'Recovering' };

async function bothUp(page) {
	for (const name of [ 'isp1', 'isp2' ])
		await page.waitFor(`${stateText(name)} === 'Up'`, 60000);
}

test('overview widget: one live line per uplink from the running rail, refreshed by the overview', async () => {
	await open(root, 'status/overview');
	await root.waitFor(`document.querySelectorAll('table.rail-overview tr[data-interface]').length == 2`, 20000);
	const st = ubusStatus();
	const names = await root.eval(`[...document.querySelectorAll('table.rail-overview tr[data-interface]')].map((tr) => tr.dataset.interface)`);
	assert.deepEqual(names, Object.keys(st.interfaces));
	await bothUp(root);
	await root.waitFor(`/^\\d+\\.\\d ms$/.test(document.querySelector('tr[data-interface="isp1"] td[data-title="RTT"]').innerText)`,
		20000);
	// The last hour's sparkline, from `rail history` through rpcd.
	await root.waitFor(`document.querySelectorAll('table.rail-overview svg.rail-spark').length == 2`, 20000);
	await root.eval(`document.querySelector('table.rail-overview').dataset.old = '1'`);
	await root.waitFor(`document.querySelector('table.rail-overview') && !document.querySelector('table.rail-overview[data-old]')`, 15000);
	await root.eval(`document.querySelector('table.rail-overview').closest('.cbi-section').id = 'rail-widget'`);
	await shot(root, 'luci-overview.png', '#rail-widget');
});

test('status page: uplinks, targets and policies as the daemon reports them, refreshed on its own', async () => {
	await open(root, 'status/rail');
	await bothUp(root);
	const st = ubusStatus();
	const seen = await root.eval(`[...document.querySelectorAll('table.rail-uplinks tr[data-interface]')].map((tr) => [
		tr.dataset.interface, tr.querySelector('td[data-title="State"]').innerText.trim()])`);
	assert.deepEqual(seen, Object.entries(st.interfaces).map(([ n, i ]) => [ n, LABEL[i.state] ]));
	const targets = await root.eval(`document.querySelectorAll('table.rail-targets tr[data-target]').length`);
	assert.equal(targets, Object.values(st.interfaces).reduce((n, i) => n + i.targets.length, 0));
	const shares = await root.eval(`[...document.querySelectorAll('tr[data-policy="balanced"] .rail-share')].map((d) =>
		[ d.dataset.member, d.querySelector('.rail-share-percent').innerText ])`);
	assert.deepEqual(shares, st.policies.balanced.active.map((m) => [ m.member, m.percent + ' %' ]));

	await root.eval(`document.querySelector('table.rail-uplinks').dataset.old = '1'`);
	await root.waitFor(`document.querySelector('table.rail-uplinks') && !document.querySelector('table.rail-uplinks[data-old]')`, 12000);
	// The quality charts, from `rail history` through rpcd: a card per uplink with a latency line.
	await root.waitFor(`document.querySelectorAll('.rail-chart-card svg.rail-chart polyline.rail-chart-rtt').length >= 2`, 20000);
	const cards = await root.eval(`[...document.querySelectorAll('.rail-chart-card')].map((c) => c.dataset.interface)`);
	assert.deepEqual(cards, Object.keys(st.interfaces));
});

test('status page follows a failover: a blackholed uplink goes down, its share moves, and it comes back', async () => {
	await open(root, 'status/rail');
	await bothUp(root);
	lab('fault', 'blackhole', 1);
	try {
		await root.waitFor(`${stateText('isp1')} === 'Down'`, 40000);
		await root.waitFor(`(() => { const m = [...document.querySelectorAll('tr[data-policy="balanced"] .rail-share')];
			return m.length == 1 && m[0].dataset.member == 'isp2_m1_w1' && m[0].innerText.includes('100 %'); })()`, 15000);
		const reason = await root.eval(`document.querySelector('tr[data-interface="isp1"] td[data-title="Reason"]').innerText`);
		assert.ok(reason.trim().length > 0, 'the reason the uplink is out is shown');
		const change = await root.eval(`document.querySelector('table.rail-transitions tr[data-interface="isp1"] td[data-title="Change"]').innerText`);
		assert.match(change, /→\s*Down/);
		assert.equal(ubusStatus().interfaces.isp1.state, 'down');
		const carries = await root.eval(`['isp1', 'isp2'].map((n) =>
			document.querySelector('tr[data-interface="' + n + '"] td[data-title="New connections"]').innerText.replace(/\\s+/g, ' ').trim())`);
		assert.deepEqual(carries, [ 'none', 'balanced 100 %' ], 'per uplink: where new connections go');
		await shot(root, 'luci-status.png');
	} finally {
		lab('clear', 1);
	}
	await root.waitFor(`${stateText('isp1')} === 'Up'`, 60000);
});

test('Maintenance takes an uplink out of service and Back in service returns it, both shown', async () => {
	await open(root, 'status/rail');
	await bothUp(root);
	await root.click('tr[data-interface="isp2"] button.rail-service');
	await root.waitFor(`${stateText('isp2')} === 'Maintenance'`, 12000);
	assert.equal(ubusStatus().interfaces.isp2.state, 'maintenance');
	await root.waitFor(`document.querySelector('tr[data-interface="isp2"] button.rail-service').innerText.trim() == 'Back in service'`);
	await root.waitFor(`!document.querySelector('tr[data-policy="balanced"] .rail-share[data-member="isp2_m1_w1"]')`, 12000);
	await root.click('tr[data-interface="isp2"] button.rail-service');
	await root.waitFor(`${stateText('isp2')} !== 'Maintenance'`, 12000);
	assert.notEqual(ubusStatus().interfaces.isp2.state, 'maintenance');
	await bothUp(root);
});

/*
 * A change on each configuration page through LuCI's widgets, saved and applied through
 * rpcd's uci; a bad value refused with LuCI's message. `edit` opens the section's editor
 * (the grid's modal) when the page is a grid.
 */
const PAGES = [
	{ page: 'members', sid: 'isp1_m1_w1', option: 'weight', good: '3', bad: '5000', refusal: /value between 1 and 1000/ },
	{ page: 'interfaces', sid: 'isp1', option: 'interval', good: '2s', bad: 'soon', refusal: /Expecting seconds/, tab: 'tracking' },
	/* A policy has no free-text field: its members and last resort are chosen from lists. */
	{ page: 'policies', sid: 'balanced', option: 'last_resort', good: 'blackhole', select: true },
	{ page: 'rules', sid: 'all', option: 'family', good: 'ipv4', select: true,
		bad: 'no such set', refusal: /valid UCI identifier/, badOn: { option: 'ipset', select: false } },
	{ page: 'globals', sid: 'globals', option: 'hook_timeout', good: '20s', bad: '1h', refusal: /from 100ms to 10m/, inline: true }
];

/* LuCI keeps a closed modal's content in the page; the body's class says whether one is open. */
const MODAL_OPEN = `document.body.classList.contains('modal-overlay-active')`;

const field = (c) => `${c.inline ? '' : '.modal '}[id="widget.cbid.rail.${c.sid}.${c.option}"]`;

async function openEditor(page, c) {
	if (c.inline)
		return;
	await page.click(`tr[data-sid="${c.sid}"] button.cbi-button-edit`);
	await page.waitFor(`document.querySelector('.modal [id="widget.cbid.rail.${c.sid}.${c.option}"]')`);
	if (c.tab)
		await page.click(`.modal li[data-tab="${c.tab}"] a`);
}

async function setValue(page, c, value) {
	if (c.select)
		await page.eval(`(() => { const s = document.querySelector('${field(c)}'); s.value = '${value}';
			s.dispatchEvent(new Event('change', { bubbles: true })); })()`);
	else
		await page.type(field(c), value);
}

for (const c of PAGES) {
	test(`${c.page} page: loads /etc/config/rail through rpcd, saves and applies a change that passes rail check` +
		(c.bad ? ', refuses a bad value with a message' : ''), async () => {
		await open(root, `network/rail/${c.page}`);
		await root.waitFor(`document.querySelector('.cbi-map')`);
		if (!c.inline) {
			const sids = await root.eval(`[...document.querySelectorAll('tr[data-sid]')].map((tr) => tr.dataset.sid)`);
			assert.ok(sids.includes(c.sid), `${c.sid} listed from the file: ${sids}`);
		}
		const before = conf();

		if (c.bad) {
			const b = Object.assign({}, c, c.badOn);
			await openEditor(root, b);
			await setValue(root, b, b.bad);
			await root.waitFor(`document.querySelector('${field(b)}').classList.contains('cbi-input-invalid')`);
			const tip = await root.eval(`document.querySelector('${field(b)}').getAttribute('data-tooltip')`);
			assert.match(tip, b.refusal);
			if (b.inline) {
				await root.click('.cbi-page-actions .cbi-button-apply');
				await root.waitFor(`${MODAL_OPEN} && /invalid input value/.test(document.querySelector('.modal').innerText)`);
				await root.click('.modal button.cbi-button');
				// LuCI's Save & Apply lets the refused save's rejection go uncaught: its own, and the only one.
				await sleep(300);
				const thrown = takeErrors(root);
				assert.ok(thrown.length <= 1 && thrown.every((e) => /^exception: TypeError: Option "[^"]+" contains an invalid input value/.test(e)), thrown.join('\n'));
			} else {
				await root.click('.modal button.cbi-button-positive');
				await sleep(500);
				assert.ok(await root.eval(MODAL_OPEN), 'the editor stays open');
				await root.click('.modal button.cbi-button:not(.cbi-button-positive)');
				await root.waitFor(`!${MODAL_OPEN}`);
			}
			await sleep(500);
			assert.equal(conf(), before, 'nothing written');
			await open(root, `network/rail/${c.page}`);
		}

		const applied = reloads();
		await openEditor(root, c);
		await setValue(root, c, c.good);
		if (c.page === 'interfaces')
			await shot(root, 'luci-config.png', false);
		if (!c.inline) {
			await root.click('.modal button.cbi-button-positive');
			await root.waitFor(`!${MODAL_OPEN}`);
		}
		await root.click('.cbi-page-actions .cbi-button-apply');
		for (let i = 0; i < 150 && conf() === before; i++)
			await sleep(200);
		await root.waitFor(`!${MODAL_OPEN}`, 30000);
		const after = conf();
		assert.match(after, new RegExp(`config \\w+ '${c.sid}'[^]*?option ${c.option} '${c.good}'`), 'the change is in the file');
		const check = railCheck();
		assert.ok(check.ok, `rail check passes on the saved file: ${check.out}`);
		for (let i = 0; i < 50 && reloads() <= applied; i++)
			await sleep(200);
		assert.ok(reloads() > applied, 'the apply reloaded rail (procd reload trigger)');
	});
}

test('a user without the luci-app-rail ACL: no menu entry, the page refused, the widget says so', async () => {
	const viewer = await login(browser, 'viewer', 'viewer');
	try {
		const menu = await viewer.eval(`[...document.querySelectorAll('a')].some((a) => /admin\\/(status|network)\\/rail/.test(a.href))`);
		assert.equal(menu, false, 'no menu entry');
		// LuCI's dispatcher answers a page whose ACL the session lacks with a bare 403. The
		// requests are made from a static file of the same origin, with no LuCI page polling
		// beside them: uhttpd's ucode handler here can leave one of two concurrent requests
		// hanging until its script timeout (docs/luci.md).
		await root.goto('about:blank');
		await viewer.goto(`${new URL(process.env.LUCI_URL).origin}/luci-static/resources/icons/loading.svg`);
		await sleep(300);
		takeErrors(viewer).forEach((e) => assert.match(e, /404 \(Not Found\) \S+\/favicon\.ico$/, 'an image shown alone asks for /favicon.ico'));
		for (const route of [ 'status/rail', 'network/rail/members' ]) {
			const r = await viewer.eval(`fetch('${process.env.LUCI_URL}/admin/${route}').then(async (r) => [ r.status, await r.text() ])`);
			assert.equal(r[0], 403, route);
			assert.doesNotMatch(r[1], /isp1|rail-uplinks/, `${route}: nothing of rail's state or config`);
		}
		// Chromium shows its own error page for an empty 403, or reports the navigation failed.
		await viewer.goto(`${process.env.LUCI_URL}/admin/status/rail`).catch((e) =>
			assert.match(e.message, /ERR_HTTP_RESPONSE_CODE_FAILURE/));
		await sleep(1000);
		assert.equal(await viewer.eval(`document.querySelectorAll('#view, table.rail-uplinks').length`), 0);
		const refused = takeErrors(viewer);
		assert.ok(refused.every((e) => /status of 403/.test(e)), `only the refusal itself: ${refused}`);
		// rpcd refuses the calls themselves too, whatever page makes them.
		await open(viewer, 'status/overview');
		const denied = await viewer.eval(`L.require('rpc').then((rpc) => rpc.declare({ object: 'rail', method: 'status' })()
			.then(() => 'answered', (e) => e.message.split('\\n')[0]))`);
		assert.match(denied, /-32002: Access denied/);
		await viewer.waitFor(`document.querySelector('.rail-denied')`, 20000);
		assert.deepEqual(takeErrors(viewer), []);
	} finally {
		await viewer.close();
	}
});

test('phone width (390 px): the status page fits, LuCI stacks its tables and labels the cells', async () => {
	await root.viewport(390, 844, true);
	try {
		await open(root, 'status/rail');
		await bothUp(root);
		const layout = await root.eval(`(() => {
			const td = document.querySelector('table.rail-uplinks tr[data-interface] td[data-title="Reason"]');
			return { width: document.documentElement.scrollWidth, right: td.getBoundingClientRect().right,
				label: getComputedStyle(td, '::before').content };
		})()`);
		assert.ok(layout.width <= 390, `no horizontal scrolling: ${layout.width}px`);
		assert.ok(layout.right <= 390, `the cells fit: ${layout.right}`);
		assert.match(layout.label, /Reason/, "the cell's column title is shown beside it");
		const shares = await root.eval(`[...document.querySelectorAll('.rail-share-percent, .rail-share .cbi-progressbar')].map((e) => {
			const r = e.getBoundingClientRect(); return [ r.width > 0, r.right <= 390 ]; })`);
		assert.ok(shares.length >= 2 && shares.every(([ shown, fits ]) => shown && fits), `policy bars and shares on screen: ${JSON.stringify(shares)}`);
		await shot(root, 'luci-status-phone.png', false);
	} finally {
		await root.viewport(1280, 900);
	}
});

test('the material theme renders the status page too', { skip: !process.env.RAIL_LUCI_MATERIAL && 'RAIL_OWRT_SRC has no luci-theme-material' }, async () => {
	const luci = require('node:path').join(process.env.RAIL_STATE, 'stack/upper/etc/config/luci');
	const fs = require('node:fs');
	const original = fs.readFileSync(luci, 'utf8');
	fs.writeFileSync(luci, original.replace(/option mediaurlbase '[^']*'/, "option mediaurlbase '/luci-static/material'"));
	try {
		await open(root, 'status/rail');
		assert.ok(await root.eval(`!!document.querySelector('link[href*="/luci-static/material/"]')`), 'material stylesheet');
		await bothUp(root);
		await shot(root, 'luci-status-material.png');
	} finally {
		fs.writeFileSync(luci, original);
	}
});
