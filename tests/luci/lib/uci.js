// Stand-in for LuCI's uci module over a fixture: { config: { sid: { '.type': T, opt: v } } },
// sections in file order. Like uci.js, it knows a config only once load() has fetched it:
// before that, sections() is empty and get() is null. get(conf, sid) without an option is
// the section object; '@type[n]' (n may be negative) names the n-th section of a type.
'use strict';

function makeUci(data) {
	const values = {};
	return {
		loaded: [],
		load(confs) {
			const list = Array.isArray(confs) ? confs : [ confs ];
			const fresh = list.filter((c) => !values[c]);
			for (const conf of fresh) {
				this.loaded.push(conf);
				values[conf] = Object.entries(data[conf] || {}).map(([ sid, s ], i) =>
					Object.assign({ '.name': sid, '.anonymous': false, '.index': i }, s));
			}
			return Promise.resolve(fresh);
		},
		sections(conf, type) {
			return (values[conf] || []).filter((s) => type == null || s['.type'] === type)
				.map((s) => Object.assign({}, s));
		},
		resolveSID(conf, sid) {
			const m = /^@([a-zA-Z0-9_-]+)\[(-?[0-9]+)\]$/.exec(sid);
			if (!m)
				return sid;
			const list = this.sections(conf, m[1]);
			const s = list[+m[2] >= 0 ? +m[2] : list.length + +m[2]];
			return s ? s['.name'] : null;
		},
		get(conf, sid, opt) {
			sid = this.resolveSID(conf, sid);
			const s = (values[conf] || []).find((x) => x['.name'] === sid);
			if (!s)
				return null;
			return opt == null ? s : s[opt];
		}
	};
}

module.exports = { makeUci };
