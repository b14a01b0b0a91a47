// Stand-in for LuCI's rpc module: rpc.declare() gives a function that calls a ubus method
// (here: a handler in `ubus[object][method]`) through what uhttpd's /ubus endpoint answers,
// and shapes the reply the way rpc.js does:
// - the object missing from `ubus` (the daemon stopped): a JSON-RPC error (-32000 Object
//   not found) that rejects;
// - a call the session's ACL does not grant (`rpc.denied`, 'object.method'): -32002
//   Access denied, rejecting, checked after the object lookup as uhttpd does;
// - a method answering a non-zero ubus status (a handler returning `rpc.status(code)`, or
//   an unknown method: 3) RESOLVES with that number unless the declaration says
//   `reject: true`; only then does it reject with the status text;
// - `expect` picks and type-checks the reply, `filter(reply, params, ...extra args)`.
// Rejections are Errors named RPCError whose message is LuCI's text followed by a stack
// trace on further lines, as L.raise() builds it. Every call is recorded in `calls`.
'use strict';

const STATUS_TEXT = [ 'Command OK', 'Invalid command', 'Invalid argument', 'Method not found',
	'Resource not found', 'No data received', 'Permission denied', 'Request timeout',
	'Not supported', 'Unspecified error', 'Connection lost' ];
const JSONRPC = { object: [ -32000, 'Object not found' ], access: [ -32002, 'Access denied' ] };
const STATUS = Symbol('ubus status');

function raise(fmt) {
	const e = new Error(`${fmt}\n  at LuCI.rpc (rpc.js stand-in)`);
	e.name = 'RPCError';
	throw e;
}

function makeRpc(ubus) {
	const rpc = {
		calls: [],
		denied: new Set(),
		/* What a handler returns for a method that fails with ubus status `code`. */
		status: (code) => ({ [STATUS]: code }),
		declare(opts) {
			return (...args) => {
				const params = {};
				(opts.params || []).forEach((p, i) => { if (args[i] !== undefined) params[p] = args[i]; });
				rpc.calls.push({ object: opts.object, method: opts.method, params });
				const where = `${opts.object}/${opts.method}`;
				const object = ubus[opts.object];
				const error = !object ? JSONRPC.object
					: rpc.denied.has(`${opts.object}.${opts.method}`) ? JSONRPC.access : null;
				return Promise.resolve()
					.then(() => {
						if (error)
							raise(`RPC call to ${where} failed with error ${error[0]}: ${error[1]}`);
						const handler = object[opts.method];
						return handler ? handler(params) : rpc.status(3);
					})
					.then((reply) => {
						const code = reply != null && reply[STATUS] != null ? reply[STATUS] : 0;
						if (opts.reject && code !== 0)
							raise(`RPC call to ${where} failed with ubus code ${code}: ${STATUS_TEXT[code] || 'Unknown error code'}`);
						let ret = code !== 0 || reply == null ? code : reply;
						for (const key in opts.expect || {}) {
							if (ret != null && key !== '')
								ret = ret[key];
							const want = opts.expect[key];
							const type = Object.prototype.toString;
							if (ret == null || type.call(ret) !== type.call(want))
								ret = want;
							break;
						}
						return opts.filter ? opts.filter(ret, params, ...args.slice((opts.params || []).length)) : ret;
					});
			};
		}
	};
	return rpc;
}

module.exports = { makeRpc };
