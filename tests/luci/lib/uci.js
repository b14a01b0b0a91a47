// Stand-in for LuCI's uci module over a fixture: { config: { sid: { '.type': T, opt: v } } },
// sections in file order.
'use strict';

function makeUci(data) {
	return {
		loaded: [],
		load(conf) {
			this.loaded.push(conf);
			return Promise.resolve(conf);
		},
		sections(conf, type) {
			return Object.entries(data[conf] || {})
				.filter(([ , s ]) => type == null || s['.type'] === type)
				.map(([ sid, s ]) => Object.assign({ '.name': sid }, s));
		},
		get(conf, sid, opt) {
			const s = (data[conf] || {})[sid];
			if (!s)
				return null;
			return opt == null ? s['.type'] : s[opt];
		}
	};
}

module.exports = { makeUci };
