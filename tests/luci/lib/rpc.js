// Stand-in for LuCI's rpc module: rpc.declare() gives a function that calls a ubus method
// (here: a handler in `ubus[object][method]`) and shapes the reply by `expect` the way
// rpc.js does. Every call is recorded in `calls`. A missing object rejects like ubus does.
'use strict';

function makeRpc(ubus) {
	const rpc = {
		calls: [],
		declare(opts) {
			return (...args) => {
				const params = {};
				(opts.params || []).forEach((p, i) => { if (args[i] !== undefined) params[p] = args[i]; });
				rpc.calls.push({ object: opts.object, method: opts.method, params });
				const handler = ubus[opts.object] && ubus[opts.object][opts.method];
				if (!handler)
					return Promise.reject(new Error(`RPCError: Object not found (${opts.object}.${opts.method})`));
				return Promise.resolve(handler(params)).then((reply) => {
					if (reply === undefined)
						return Promise.reject(new Error(`RPCError: Object not found (${opts.object})`));
					let ret = reply;
					for (const key in opts.expect || {}) {
						if (ret != null && key !== '')
							ret = ret[key];
						const want = opts.expect[key];
						if (ret == null || Array.isArray(ret) !== Array.isArray(want) || typeof ret !== typeof want)
							ret = want;
						break;
					}
					return opts.filter ? opts.filter(ret, params) : ret;
				});
			};
		}
	};
	return rpc;
}

module.exports = { makeRpc };
