'use strict';
'require view';
'require form';
'require uci';
'require rail';

/* Network > Multi-WAN > Globals: the settings that are not per uplink. */

return view.extend({
	load() {
		return uci.load('rail');
	},

	render() {
		const m = new form.Map('rail', _('Multi-WAN (rail): Globals'));

		const s = m.section(form.TypedSection, 'globals', _('Global settings'));
		s.anonymous = true;
		/* One globals section: offer to create it only when the file has none. */
		s.addremove = uci.sections('rail', 'globals').length == 0;

		let o = s.option(form.Flag, 'enabled', _('Enabled'));
		o.default = '1';

		o = s.option(form.Value, 'mark_mask', _('Mark mask'),
			_('The firewall mark bits rail may use, one contiguous run. The default stays clear of mwan3, pbr and SQM.'));
		o.validate = rail.validateMarkMask;
		o.placeholder = '0x3F000000';

		o = s.option(form.DynamicList, 'hook', _('Hooks'),
			_('Programs run on every uplink state change, with the uplink and its new state in the environment. Absolute paths, no shell.'));
		o.validate = rail.validatePath;

		o = s.option(form.Value, 'hook_timeout', _('Hook timeout'),
			_('A hook still running after this long is killed.'));
		o.validate = rail.durationIn('100ms', '10m');
		o.placeholder = '10s';

		o = s.option(form.ListValue, 'log_level', _('Log level'));
		o.value('off', _('Nothing'));
		o.value('error', _('Errors'));
		o.value('warn', _('Warnings'));
		o.value('info', _('State changes (info)'));
		o.value('debug', _('Debug'));
		o.value('trace', _('Trace'));
		o.default = 'info';

		return m.render();
	}
});
