'use strict';
'require view';
'require form';
'require uci';
'require rail';

/*
 * Network > Multi-WAN > Policies: which members a policy balances or fails over
 * between, and what happens to its traffic when none of them is up.
 */

return view.extend({
	load() {
		return uci.load('rail');
	},

	render() {
		const [ m, s ] = rail.gridPage(form, 'policy', _('Multi-WAN (rail): Policies'),
			_('Rules send traffic to a policy. A policy picks among its members whose uplinks are up: the lowest metric wins, equal metrics share by weight.'),
			_('Policies'));

		let o = s.option(form.DynamicList, 'use_member', _('Members'));
		for (const mem of uci.sections('rail', 'member'))
			o.value(mem['.name'], '%s (%s, metric %s, weight %s)'.format(mem['.name'],
				mem.interface || '?', mem.metric || '1', mem.weight || '1'));
		o.rmempty = false;

		o = s.option(form.ListValue, 'last_resort', _('Last resort'),
			_('What happens to new connections when no member is up.'));
		o.value('unreachable', _('Reject (unreachable)'));
		o.value('blackhole', _('Drop (blackhole)'));
		o.value('default', _("Use the main routing table's default route"));
		o.default = 'unreachable';

		return m.render();
	}
});
