// Stand-in for LuCI's form module: Map, TypedSection, GridSection, NamedSection and the
// option widgets keep what a view declares (config, section types, options, tabs,
// datatypes, choices, dependencies, validators) and render it as plain DOM: one
// .cbi-section per section type, one .cbi-value per option, then one .cbi-section-node
// per configured section with the option values from uci. Like LuCI, it refuses a
// section or option class that is not one, and a taboption on an undeclared tab.
'use strict';

function makeForm(Class, dom, uci) {
	const E = (...a) => dom.create(...a);

	const AbstractValue = Class.extend({
		__init__(section, option, title, description) {
			Object.assign(this, { section, option, title, description,
				keylist: [], vallist: [], deplist: [], tab: null });
		},
		value(key, label) {
			this.keylist.push(String(key));
			this.vallist.push(label != null ? label : key);
		},
		depends(field, value) {
			this.deplist.push(typeof field === 'object' ? field : { [field]: value });
		},
		cfgvalue(sid) {
			return uci.get(this.section.map.config, sid, this.option);
		}
	});
	const Value = AbstractValue.extend({});
	const Flag = Value.extend({ enabled: '1', disabled: '0' });
	const ListValue = Value.extend({});
	const DynamicList = Value.extend({});
	const MultiValue = DynamicList.extend({});
	const DummyValue = Value.extend({});

	const AbstractSection = Class.extend({
		__init__(map, sectiontype, title, description) {
			Object.assign(this, { map, sectiontype, title, description, children: [], tabs: {} });
		},
		tab(name, title, description) {
			this.tabs[name] = { title, description };
		},
		option(cls, option, title, description) {
			if (!AbstractValue.isSubclass(cls))
				throw new TypeError(`option '${option}': class must be a descendant of AbstractValue`);
			const o = new cls(this, option, title, description);
			this.children.push(o);
			return o;
		},
		taboption(tab, cls, ...args) {
			if (!this.tabs[tab])
				throw new Error(`option '${args[0]}': associated tab '${tab}' not declared`);
			const o = this.option(cls, ...args);
			o.tab = tab;
			return o;
		},
		cfgsections() {
			return uci.sections(this.map.config, this.sectiontype).map((s) => s['.name']);
		}
	});
	const TypedSection = AbstractSection.extend({});
	// As LuCI's grid: the table shows the options that are not modalonly, as text unless
	// `editable`; the editor (a modal) has every option except those with modalonly
	// === false, which LuCI documents as "only in the table".
	const GridSection = TypedSection.extend({
		tableOptions() {
			return this.children.filter((o) => !o.modalonly);
		},
		editorOptions() {
			return this.children.filter((o) => o.modalonly !== false);
		}
	});
	const TableSection = TypedSection.extend({});
	const NamedSection = AbstractSection.extend({
		__init__(map, sid, sectiontype, title, description) {
			AbstractSection.prototype.__init__.call(this, map, sectiontype, title, description);
			this.sid = sid;
		},
		cfgsections() {
			return [ this.sid ];
		}
	});

	const classes = { Value, Flag, ListValue, DynamicList, MultiValue, DummyValue,
		TypedSection, GridSection, TableSection, NamedSection };
	const className = (obj) => Object.keys(classes).find((k) => obj.constructor === classes[k]);

	function renderOption(o) {
		return E('div', {
			'class': 'cbi-value',
			'data-option': o.option,
			'data-widget': className(o),
			'data-tab': o.tab || undefined,
			'data-modalonly': o.modalonly ? '1' : undefined
		}, [ E('label', { 'class': 'cbi-value-title' }, [ o.title || o.option ]) ]);
	}

	function renderSection(s) {
		return E('div', {
			'class': 'cbi-section',
			'data-section-type': s.sectiontype,
			'data-section-class': className(s)
		}, [
			E('h3', {}, [ s.title || s.sectiontype ]),
			...s.children.map(renderOption),
			...s.cfgsections().map((sid) => E('div', { 'class': 'cbi-section-node', 'data-section-id': sid },
				s.children.map((o) => {
					const v = o.cfgvalue(sid);
					return E('div', { 'class': 'cbi-value-field', 'data-option': o.option },
						[ v == null ? '' : Array.isArray(v) ? v.join(' ') : String(v) ]);
				})))
		]);
	}

	const Map = Class.extend({
		__init__(config, title, description) {
			Object.assign(this, { config, title, description, children: [] });
		},
		section(cls, ...args) {
			if (!AbstractSection.isSubclass(cls))
				throw new TypeError('section class must be a descendant of AbstractSection');
			const s = new cls(this, ...args);
			this.children.push(s);
			return s;
		},
		render() {
			return uci.load(this.config).then(() => {
				const node = E('div', { 'class': 'cbi-map', 'data-config': this.config }, [
					E('h2', {}, [ this.title || '' ]),
					E('div', { 'class': 'cbi-map-descr' }, [ this.description || '' ]),
					...this.children.map(renderSection)
				]);
				// Lets a test find the declared model behind the rendered page.
				node.__map = this;
				return node;
			});
		}
	});

	return Object.assign({ Map, AbstractValue, AbstractSection }, classes);
}

module.exports = { makeForm };
