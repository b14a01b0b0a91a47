// Stand-in for LuCI's dom module and E(), with LuCI's semantics: E(tag|html|node|[...],
// attrs?, children?); a function attribute becomes an event listener, an object one is
// JSON; an array child list appends nodes and text nodes, but a lone string child is set
// as innerHTML (so views must wrap untrusted text in an array, as in LuCI).
'use strict';

function makeDom(window) {
	const document = window.document;
	const isElem = (e) => e != null && typeof e === 'object' && 'nodeType' in e;
	const isPlainAttrs = (a) => a != null && typeof a === 'object' && !Array.isArray(a) && !isElem(a);

	const dom = {
		elem: isElem,

		parse(html) {
			const div = document.createElement('div');
			div.innerHTML = html;
			return div.firstChild;
		},

		append(node, children) {
			if (!isElem(node))
				return null;
			if (Array.isArray(children)) {
				for (const child of children) {
					if (isElem(child))
						node.appendChild(child);
					else
						// LuCI tests the list, not the item: null and undefined become text.
						node.appendChild(document.createTextNode('' + child));
				}
				return node.lastChild;
			}
			if (typeof children === 'function')
				return dom.append(node, children(node));
			if (isElem(children))
				return node.appendChild(children);
			if (children != null) {
				node.innerHTML = '' + children;
				return node.lastChild;
			}
			return null;
		},

		content(node, children) {
			if (!isElem(node))
				return null;
			while (node.firstChild)
				node.removeChild(node.firstChild);
			return dom.append(node, children);
		},

		attr(node, attrs) {
			for (const [ key, val ] of Object.entries(attrs || {})) {
				if (val == null)
					continue;
				if (typeof val === 'function')
					node.addEventListener(key, val);
				else if (typeof val === 'object')
					node.setAttribute(key, JSON.stringify(val));
				else
					node.setAttribute(key, val);
			}
		},

		create(html, attrs, data) {
			if (!isPlainAttrs(attrs)) {
				data = attrs;
				attrs = null;
			}
			let elem;
			if (Array.isArray(html)) {
				elem = document.createDocumentFragment();
				for (const h of html)
					elem.appendChild(dom.create(h));
			} else if (isElem(html)) {
				elem = html;
			} else if (html.charCodeAt(0) === 60) {
				elem = dom.parse(html);
			} else {
				elem = document.createElement(html);
			}
			dom.attr(elem, attrs);
			dom.append(elem, data);
			return elem;
		}
	};
	return dom;
}

// String.prototype.format as views use it: %s, %d, %f with optional precision, %%.
// Evaluated inside the page (window.eval), so it must not refer to anything outside.
function formatImpl(...args) {
	let n = 0;
	return this.replace(/%(\.(\d+))?([sdf%])/g, (m, p, prec, type) => {
		if (type === '%')
			return '%';
		const v = args[n++];
		if (type === 'd')
			return String(Math.floor(+v || 0));
		if (type === 'f')
			return prec != null ? (+v || 0).toFixed(+prec) : String(+v || 0);
		return v == null ? '' : String(v);
	});
}

module.exports = { makeDom, formatImpl };
