// What the browser tests share: the stack run.sh started (from its environment), a LuCI
// login through rpcd's session, opening a page and waiting until LuCI rendered its view,
// rail's status straight from ubus, and the lab's faults.
'use strict';

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Browser, sleep } = require('./cdp');

const env = (name) => {
	if (!process.env[name])
		throw new Error(`${name} is not set: run tests/luci/real/run.sh`);
	return process.env[name];
};

const LUCI = env('LUCI_URL');
const CONF = env('RAIL_CONF');
const LAB = env('RAIL_LAB');

/* The login page is LuCI's answer 403 to an unauthenticated request: not an error. */
const LOGIN_403 = /^log: Failed to load resource: .* 403 \(Forbidden\) \S*\/cgi-bin\/luci\/?\S*$/;
/* Save & Apply asks cgi-io (/cgi-bin/cgi-exec, not in the prefix) for the browser's peer
 * address and falls back when it fails: a gap of the stack, not of the page. */
const NO_CGI_IO = /^log: Failed to load resource: .* 404 \(Not Found\) \S*\/cgi-bin\/cgi-exec\b/;

/* The page's errors so far, less the two above; the list is emptied. */
const takeErrors = (page) => page.errors.splice(0).filter((e) => !LOGIN_403.test(e) && !NO_CGI_IO.test(e));

async function login(browser, user, password) {
	const page = await browser.newPage();
	await page.viewport(1280, 900);
	await page.goto(LUCI + '/');
	await page.waitFor(`document.querySelector('input[name=luci_password]')`);
	await page.eval(`(() => {
		document.querySelector('input[name=luci_username]').value = ${JSON.stringify(user)};
		const pw = document.querySelector('input[name=luci_password]');
		pw.value = ${JSON.stringify(password)};
		pw.form.submit();
	})()`);
	await page.waitFor(`location.pathname.includes('/admin/') && !document.querySelector('input[name=luci_password]')`);
	takeErrors(page).forEach((e) => page.errors.push(e));
	return page;
}

/* Opens admin/PATH and waits until LuCI's view is rendered (its spinner gone). */
async function open(page, route) {
	await page.goto(`${LUCI}/admin/${route}`);
	await page.waitFor(`typeof L == 'object' && document.querySelector('#view') &&
		!document.querySelector('#view > .spinning') && document.querySelector('#view').children.length > 0`);
}

function ubusStatus() {
	const ubus = env('UBUS').split(' ');
	return JSON.parse(execFileSync(ubus[0], [ ...ubus.slice(1), 'call', 'rail', 'status' ], { encoding: 'utf8' }));
}

function lab(...args) {
	execFileSync(env('LAB_SH'), [ args[0], LAB, ...args.slice(1).map(String) ], { stdio: 'ignore' });
}

function railCheck(file = CONF) {
	const r = spawnSync(env('RAIL_BIN'), [ '-c', file, 'check' ], { encoding: 'utf8' });
	return { ok: r.status === 0, out: r.stdout + r.stderr };
}

const conf = () => fs.readFileSync(CONF, 'utf8');

/* Reload events the procd stand-in has run for rail so far. */
function reloads() {
	const log = path.join(env('RAIL_STATE'), 'procd.log');
	return fs.existsSync(log) ? (fs.readFileSync(log, 'utf8').match(/^\d+ reload: exit 0$/mg) || []).length : 0;
}

/* A screenshot into RAIL_SHOTS (run.sh shots DIR), when set: the whole page, the viewport
 * (what = false) or the element a selector names. */
async function shot(page, name, what = true) {
	if (process.env.RAIL_SHOTS)
		return page.screenshot(path.join(process.env.RAIL_SHOTS, name), what);
	return null;
}

module.exports = { Browser, sleep, LUCI, takeErrors, login, open, ubusStatus, lab, railCheck, conf, reloads, shot };
