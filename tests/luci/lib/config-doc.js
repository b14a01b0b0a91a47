// The option tables of docs/config.md, which rail's Rust code generates from its option
// specs (tests/config_docs.rs keeps them equal): per section type, each option's name,
// type, default and allowed values, as the configuration pages must offer them.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const DOC = path.resolve(__dirname, '../../../docs/config.md');

function parseDefault(text) {
	const m = /^`([^`]*)`$/.exec(text);
	if (m)
		return { value: m[1] };
	if (text === 'none' || text === 'required')
		return { [text]: true };
	return { derived: text };
}

function optionTables() {
	const doc = fs.readFileSync(DOC, 'utf8');
	const tables = {};
	const re = /<!-- options: (\w+) -->\n([\s\S]*?)<!-- end -->/g;
	let m;
	while ((m = re.exec(doc))) {
		tables[m[1]] = m[2].split('\n')
			.filter((line) => /^\| `/.test(line))
			.map((line) => {
				const cells = line.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim());
				return {
					name: /^`([^`]+)`/.exec(cells[0])[1],
					type: cells[1],
					default: parseDefault(cells[2]),
					allowed: cells[3]
				};
			});
	}
	if (!Object.keys(tables).length)
		throw new Error(`${DOC}: no <!-- options: TYPE --> tables`);
	return tables;
}

module.exports = { optionTables, DOC };
