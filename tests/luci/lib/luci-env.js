// A LuCI page in a jsdom window: loads luci-app-rail's real module files the way
// LuCI's luci.js does ('require NAME [as ALIAS]' directives, then the source
// evaluated as `function(window, document, L, deps...)` and instantiated), with
// LuCI's own modules (baseclass, view, dom, poll, rpc, uci, form, ui) stood in by the
// small stubs in this directory. Views get E(), _() and String#format like in LuCI.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { JSDOM } = require('jsdom');

const { makeClass } = require('./class');
const { makeDom, formatImpl } = require('./dom');
const { makeRpc } = require('./rpc');
const { makePoll } = require('./poll');
const { makeUci } = require('./uci');
const { makeForm } = require('./form');
const { makeUi } = require('./ui');

process.env.TZ = 'UTC';

const RESOURCES = path.resolve(__dirname, '../../../luci-app-rail/htdocs/luci-static/resources');

// The leading string statements of a LuCI module: 'use strict' and 'require X [as Y]'.
// Like luci.js, /* */ and // comments between them are skipped (a comment opener is
// recognised wherever it appears), and scanning stops at the first string literal that
// is neither.
function parseRequires(source) {
	const requireRe = /^require[ \t]+(\S+)(?:[ \t]+as[ \t]+([a-zA-Z_]\S*))?$/;
	const deps = [];
	let quote = null, start = 0, escaped = false, comment = null, prev = null;
	for (let i = 0; i < source.length; i++) {
		const c = source[i];
		if (escaped) {
			escaped = false;
		} else if (comment !== null) {
			if ((comment === '/' && c === '\n') || (comment === '*' && prev === '*' && c === '/'))
				comment = null;
		} else if ((c === '*' || c === '/') && prev === '/') {
			comment = c;
		} else if (c === '\\') {
			escaped = true;
		} else if (c === quote) {
			const text = source.slice(start, i);
			const m = requireRe.exec(text);
			if (m)
				deps.push({ name: m[1], as: m[2] || m[1].replace(/[^a-zA-Z0-9_]/g, '_') });
			else if (!/^use[ \t]+strict$/.test(text))
				break;
			quote = null;
		} else if (quote === null && (c === '"' || c === "'")) {
			quote = c;
			start = i + 1;
		}
		prev = c;
	}
	return deps;
}

// `history`: what ubus rail history answers, by span ({ '10m': doc, ... }); absent: the
// method is missing, as with a daemon that predates it.
function createEnv({ status, history, uci: uciData = {} } = {}) {
	const jsdom = new JSDOM(
		'<!DOCTYPE html><html><head></head><body>' +
		'<div id="maincontent"><div id="view"></div></div></body></html>',
		{ runScripts: 'outside-only', url: 'http://192.168.1.1/cgi-bin/luci/admin/status/rail' });
	const window = jsdom.window;
	const document = window.document;

	window.eval('String.prototype.format = ' + formatImpl.toString() + ';');

	const Class = makeClass();
	const dom = makeDom(window);
	const E = (...args) => dom.create(...args);
	// The rail object is on the bus while there is a status document (undefined: stopped).
	const railObject = { status: () => env.status };
	if (history)
		railObject.history = (params) => env.history[params.span];
	const ubus = { get rail() { return env.status === undefined ? undefined : railObject; } };
	const rpc = makeRpc(ubus);
	const poll = makePoll();
	const uci = makeUci(uciData);
	const form = makeForm(Class, dom, uci);
	const ui = makeUi();

	const View = Class.extend({
		// As LuCI's view: a spinner, load(), then render() its result into #view, then the
		// page footer with a button for each of handleSaveApply, handleSave and handleReset
		// that the view has not set to null.
		__init__() {
			const vp = document.getElementById('view');
			dom.content(vp, E('div', { 'class': 'spinning' }, [ 'Loading view…' ]));
			this.__ready = Promise.resolve(this.load())
				.then((data) => this.render(data))
				.then((nodes) => {
					dom.content(vp, nodes);
					dom.append(vp, this.addFooter());
				});
		},
		load() {},
		render() {},
		handleSave() { return Promise.resolve(); },
		handleSaveApply() { return Promise.resolve(); },
		handleReset() { return Promise.resolve(); },
		addFooter() {
			const buttons = [ [ 'handleSaveApply', 'cbi-button-apply', 'Save & Apply' ],
				[ 'handleSave', 'cbi-button-save', 'Save' ], [ 'handleReset', 'cbi-button-reset', 'Reset' ] ]
				.filter(([ fn ]) => this[fn])
				.map(([ fn, cls, label ]) => E('button', { 'class': 'cbi-button ' + cls,
					'click': ui.createHandlerFn(this, fn) }, [ label ]));
			return E([], buttons.length ? [ E('div', { 'class': 'cbi-page-actions' }, buttons) ] : []);
		}
	});

	const builtins = { baseclass: Class, view: View, dom, poll, rpc, uci, form, ui };
	const modules = {};

	const L = {
		env: {},
		dom,
		resource: (...parts) => '/luci-static/resources/' + parts.join('/'),
		url: (...parts) => '/cgi-bin/luci/' + parts.join('/'),
		resolveDefault: (value, def) => Promise.resolve(value).catch(() => def),
		bind: (fn, self, ...args) => fn.bind(self, ...args),
		require: (name) => Promise.resolve(requireModule(name))
	};

	window.L = L;
	window.E = E;
	window._ = (s) => s;
	window.N_ = (n, s, p) => (n == 1 ? s : p);

	function requireModule(name, from = []) {
		if (builtins[name])
			return builtins[name];
		if (modules[name])
			return modules[name];
		if (from.includes(name))
			throw new Error(`circular dependency: ${[ name, ...from ].join(' <- ')}`);

		const file = path.join(RESOURCES, name.replace(/\./g, '/') + '.js');
		const source = fs.readFileSync(file, 'utf8');
		const deps = parseRequires(source);
		const instances = deps.map((d) => requireModule(d.name, [ name, ...from ]));
		const args = deps.map((d) => ', ' + d.as).join('');
		const factory = window.eval(
			`(function(window, document, L${args}) { ${source}\n})\n//# sourceURL=${file}\n`);
		const cls = factory(window, document, L, ...instances);
		if (typeof cls !== 'function' || typeof cls.extend !== 'function')
			throw new TypeError(`${name}: factory yields no LuCI class`);
		modules[name] = new cls();
		return modules[name];
	}

	const env = {
		window, document, status, history, ubus, rpc, poll, uci, form, dom, ui,
		require: (name) => requireModule(name),
		view: () => document.getElementById('view'),
		// Loads a view the way LuCI's dispatcher does and waits until it is rendered.
		async renderView(name) {
			const v = requireModule(name);
			await v.__ready;
			return document.getElementById('view');
		}
	};
	return env;
}

module.exports = { createEnv, parseRequires, RESOURCES };
