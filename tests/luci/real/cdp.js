// A small driver for headless Chromium over the DevTools protocol (no library): start
// the browser, open pages, evaluate in them, wait for a condition, click and type as a
// user does (real input events), take screenshots, and collect every console error,
// uncaught exception and failed load a page shows. Node 20 needs --experimental-websocket.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const FLAGS = [ '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync',
	'--hide-scrollbars', '--force-device-scale-factor=1', '--remote-debugging-port=0' ];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Connection {
	constructor(ws) {
		this.ws = ws;
		this.id = 0;
		this.pending = new Map();
		this.listeners = new Map();
		ws.addEventListener('message', (ev) => {
			const msg = JSON.parse(ev.data);
			if (msg.id != null) {
				const p = this.pending.get(msg.id);
				this.pending.delete(msg.id);
				if (msg.error)
					p.reject(new Error(`${p.method}: ${msg.error.message} ${msg.error.data || ''}`));
				else
					p.resolve(msg.result);
			} else {
				for (const fn of this.listeners.get(msg.sessionId || '') || [])
					fn(msg.method, msg.params);
			}
		});
	}

	send(method, params = {}, sessionId) {
		const id = ++this.id;
		this.ws.send(JSON.stringify({ id, method, params, sessionId }));
		return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, method }));
	}

	on(sessionId, fn) {
		if (!this.listeners.has(sessionId))
			this.listeners.set(sessionId, []);
		this.listeners.get(sessionId).push(fn);
	}
}

class Page {
	constructor(conn, sessionId, targetId) {
		Object.assign(this, { conn, sessionId, targetId, errors: [], console: [] });
		this.loaded = 0;
		conn.on(sessionId, (method, p) => {
			if (method === 'Runtime.consoleAPICalled') {
				const text = p.args.map((a) => a.value !== undefined ? String(a.value)
					: a.description || a.type).join(' ');
				this.console.push({ type: p.type, text });
				if (p.type === 'error' || p.type === 'assert')
					this.errors.push(`console.${p.type}: ${text}`);
			} else if (method === 'Runtime.exceptionThrown') {
				const d = p.exceptionDetails;
				this.errors.push(`exception: ${(d.exception && d.exception.description) || d.text} at ${d.url || ''}:${d.lineNumber}`);
			} else if (method === 'Log.entryAdded' && p.entry.level === 'error') {
				this.errors.push(`log: ${p.entry.text} ${p.entry.url || ''}`);
			} else if (method === 'Page.loadEventFired') {
				this.loaded++;
			}
		});
	}

	send(method, params) {
		return this.conn.send(method, params, this.sessionId);
	}

	async init() {
		await Promise.all([ 'Runtime.enable', 'Log.enable', 'Page.enable' ].map((m) => this.send(m)));
	}

	/* Width and height in CSS pixels; mobile also turns on the viewport meta handling. */
	async viewport(width, height, mobile = false) {
		await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile });
	}

	async goto(url, timeoutMs = 20000) {
		const before = this.loaded;
		const r = await this.send('Page.navigate', { url });
		if (r.errorText)
			throw new Error(`navigate ${url}: ${r.errorText}`);
		await this.waitUntil(() => this.loaded > before, timeoutMs, `load of ${url}`);
	}

	async waitUntil(fn, timeoutMs, what) {
		const end = Date.now() + timeoutMs;
		while (!fn()) {
			if (Date.now() > end)
				throw new Error(`timed out waiting for ${what}`);
			await sleep(50);
		}
	}

	/* Evaluates an expression (awaiting a promise) in the page and returns its JSON value. */
	async eval(expression) {
		const r = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
		if (r.exceptionDetails)
			throw new Error(`eval ${expression.slice(0, 80)}: ${(r.exceptionDetails.exception || {}).description || r.exceptionDetails.text}`);
		return r.result.value;
	}

	/* Polls an expression until it is truthy; returns its value. */
	async waitFor(expression, timeoutMs = 15000) {
		const end = Date.now() + timeoutMs;
		let last;
		for (;;) {
			try {
				last = await this.eval(expression);
				if (last)
					return last;
			} catch (e) {
				last = e.message;
			}
			if (Date.now() > end)
				throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression} (last: ${JSON.stringify(last)})`);
			await sleep(200);
		}
	}

	/* The centre of the first element matching selector, scrolled into view, once it has
	 * stopped moving (LuCI's modals slide in). */
	async centre(selector, timeoutMs = 5000) {
		const end = Date.now() + timeoutMs;
		let last = null;
		for (;;) {
			const box = await this.eval(`(() => {
				const el = document.querySelector(${JSON.stringify(selector)});
				if (!el) return null;
				el.scrollIntoView({ block: 'center' });
				const r = el.getBoundingClientRect();
				return { x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height };
			})()`);
			if (box && box.w && last && JSON.stringify(box) === JSON.stringify(last))
				return box;
			if (Date.now() > end)
				throw new Error(`no visible, settled element ${selector}`);
			last = box;
			await sleep(100);
		}
	}

	/* A real mouse click at the element's centre; refused when something else lies on top. */
	async click(selector) {
		const { x, y } = await this.centre(selector);
		const onTop = await this.eval(`(() => { const el = document.querySelector(${JSON.stringify(selector)});
			const hit = document.elementFromPoint(${x}, ${y});
			return el.contains(hit) ? null : (hit ? hit.outerHTML.slice(0, 120) : 'nothing'); })()`);
		if (onTop)
			throw new Error(`click ${selector}: covered by ${onTop}`);
		for (const type of [ 'mousePressed', 'mouseReleased' ])
			await this.send('Input.dispatchMouseEvent', { type, x, y, button: 'left', clickCount: 1 });
	}

	/* Focuses the field, selects what it holds and types text over it, key by key. */
	async type(selector, text) {
		await this.click(selector);
		await this.eval(`document.querySelector(${JSON.stringify(selector)}).select()`);
		if (text === '')
			await this.send('Input.dispatchKeyEvent', { type: 'keyDown', key: 'Backspace', code: 'Backspace', windowsVirtualKeyCode: 8 });
		else
			await this.send('Input.insertText', { text });
		await this.eval(`(() => { const el = document.querySelector(${JSON.stringify(selector)});
			el.dispatchEvent(new Event('input', { bubbles: true }));
			el.dispatchEvent(new Event('change', { bubbles: true })); el.blur(); })()`);
	}

	/* The whole page (fullPage), the viewport (false), or the element a selector names. */
	async screenshot(file, fullPage = true) {
		let clip;
		if (typeof fullPage === 'string') {
			clip = await this.eval(`(() => { const r = document.querySelector(${JSON.stringify(fullPage)}).getBoundingClientRect();
				return { x: r.left + scrollX - 8, y: r.top + scrollY - 8, width: r.width + 16, height: r.height + 16, scale: 1 }; })()`);
			fullPage = true;
		} else if (fullPage) {
			const m = await this.send('Page.getLayoutMetrics');
			const size = m.cssContentSize || m.contentSize;
			clip = { x: 0, y: 0, width: Math.ceil(size.width), height: Math.ceil(size.height), scale: 1 };
		}
		const r = await this.send('Page.captureScreenshot', { format: 'png', clip, captureBeyondViewport: fullPage });
		fs.mkdirSync(path.dirname(file), { recursive: true });
		fs.writeFileSync(file, Buffer.from(r.data, 'base64'));
		return file;
	}

	async close() {
		await this.conn.send('Target.closeTarget', { targetId: this.targetId });
	}
}

class Browser {
	static async launch({ binary = process.env.CHROMIUM || '/usr/bin/chromium', args = [] } = {}) {
		if (typeof WebSocket !== 'function')
			throw new Error('no WebSocket in this Node: run node with --experimental-websocket');
		const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rail-chromium-'));
		const proc = spawn(binary, [ ...FLAGS, `--user-data-dir=${profile}`, ...args, 'about:blank' ],
			{ stdio: [ 'ignore', 'ignore', 'pipe' ] });
		const wsUrl = await new Promise((resolve, reject) => {
			let buf = '';
			const timer = setTimeout(() => reject(new Error(`chromium did not start: ${buf}`)), 30000);
			proc.stderr.on('data', (d) => {
				buf += d;
				const m = /DevTools listening on (ws:\/\/\S+)/.exec(buf);
				if (m) {
					clearTimeout(timer);
					resolve(m[1]);
				}
			});
			proc.on('exit', (code) => reject(new Error(`chromium exited (${code}): ${buf}`)));
		});
		proc.stderr.resume();
		const ws = new WebSocket(wsUrl);
		await new Promise((resolve, reject) => {
			ws.addEventListener('open', resolve, { once: true });
			ws.addEventListener('error', reject, { once: true });
		});
		return new Browser(proc, new Connection(ws), profile);
	}

	constructor(proc, conn, profile) {
		Object.assign(this, { proc, conn, profile });
	}

	/* A page in a fresh browser context: its own cookies, so each login stands alone. */
	async newPage() {
		const { browserContextId } = await this.conn.send('Target.createBrowserContext');
		const { targetId } = await this.conn.send('Target.createTarget', { url: 'about:blank', browserContextId });
		const { sessionId } = await this.conn.send('Target.attachToTarget', { targetId, flatten: true });
		const page = new Page(this.conn, sessionId, targetId);
		await page.init();
		return page;
	}

	async close() {
		try {
			await this.conn.send('Browser.close');
		} catch (e) {
			this.proc.kill();
		}
		await new Promise((r) => (this.proc.exitCode != null ? r() : this.proc.on('exit', r)));
		fs.rmSync(this.profile, { recursive: true, force: true });
	}
}

module.exports = { Browser, sleep };
