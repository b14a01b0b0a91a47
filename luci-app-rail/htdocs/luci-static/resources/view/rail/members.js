'use strict';
'require view';
'require form';
'require uci';
'require rail';

/*
 * Network > Multi-WAN > Members: an uplink with a metric (lower is preferred:
 * failover tiers) and a weight (its share among uplinks of the same metric).
 */

return view.extend({
	load() {
		return uci.load('rail');
	},

	render() {
		const [ m, s ] = rail.gridPage(form, 'member', _('Multi-WAN (rail): Members'),
			_('A member puts an uplink into policies. Policies use the members with the lowest metric whose uplinks are up, and share new connections among them by weight.'),
			_('Members'));

		let o = s.option(form.ListValue, 'interface', _('Interface'));
		for (const ifc of uci.sections('rail', 'interface'))
			o.value(ifc['.name']);
		o.rmempty = false;

		o = s.option(form.Value, 'metric', _('Metric'),
			_('1-256; lower is preferred. Members with a higher metric take over only when all lower ones are down.'));
		o.datatype = 'range(1, 256)';
		o.placeholder = '1';

		o = s.option(form.Value, 'weight', _('Weight'),
			_('1-1000; the share of new connections among members of the same metric.'));
		o.datatype = 'range(1, 1000)';
		o.placeholder = '1';

		return m.render();
	}
});
