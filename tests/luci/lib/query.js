// Reading what a view rendered: table rows and their cells by column title.
'use strict';

const text = (node) => (node ? node.textContent.replace(/\s+/g, ' ').trim() : null);

function rows(root, tableClass) {
	const table = root.querySelector('table.' + tableClass);
	if (!table)
		throw new Error(`no table.${tableClass} rendered`);
	return [ ...table.querySelectorAll('tr.tr') ].filter((tr) => !tr.classList.contains('table-titles'));
}

function cell(tr, title) {
	const td = tr.querySelector(`td[data-title="${title}"]`);
	if (!td)
		throw new Error(`row has no cell titled ${title}: ${text(tr)}`);
	return td;
}

module.exports = { text, rows, cell };
