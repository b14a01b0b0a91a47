// Renders the status page from fixtures/status.json and the charts from
// fixtures/history-*.json with the same stand-ins the tests use, and writes it as one
// static HTML file (theme stand-in + rail.css inlined) for a headless browser to
// photograph: node screenshot.js OUT.html
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { createEnv, RESOURCES } = require('./lib/luci-env');
const fixtures = require('./lib/fixtures');

async function main(out) {
	const status = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/status.json'), 'utf8'));
	const env = createEnv({ status, history: fixtures.history() });
	const view = await env.renderView('view.rail.status');
	await env.require('rail.history').ready;
	const css = fs.readFileSync(path.join(__dirname, 'harness.css'), 'utf8') +
		fs.readFileSync(path.join(RESOURCES, 'view/rail/rail.css'), 'utf8');
	const html = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Multi-WAN (rail) - LuCI</title><style>${css}</style></head>
<body><header><span class="brand">OpenWrt</span><nav><a class="active">Status</a><a>System</a><a>Network</a><a>Logout</a></nav></header>
<div id="maincontent">${view.innerHTML}</div></body></html>
`;
	fs.writeFileSync(out, html);
}

main(process.argv[2]).catch((e) => {
	console.error(e);
	process.exit(1);
});
