'use strict';
'require view';
'require form';
'require rail';

/*
 * Network > Multi-WAN > Interfaces: one `config interface` section per uplink,
 * named like the netifd interface, with how rail probes it and when it decides
 * the uplink is down or back. Empty fields keep rail's documented defaults.
 */

return view.extend({
	render() {
		const m = new form.Map('rail', _('Multi-WAN (rail): Interfaces'),
			_('One entry per uplink. The name must be the interface name in /etc/config/network (e.g. wan, wwan). Device and gateway are learned from netifd when left empty.'));

		const s = m.section(form.GridSection, 'interface', _('Uplinks'));
		s.addremove = true;
		s.anonymous = false;
		s.nodescriptions = true;

		s.tab('general', _('General'));
		s.tab('tracking', _('Tracking'));
		s.tab('quality', _('Link quality'));
		s.tab('advanced', _('Advanced'));

		let o = s.taboption('general', form.Flag, 'enabled', _('Enabled'));
		o.default = o.enabled;
		o.editable = true;

		o = s.taboption('general', form.ListValue, 'family', _('Family'));
		o.value('ipv4', _('IPv4'));
		o.value('ipv6', _('IPv6'));
		o.default = 'ipv4';

		o = s.taboption('general', form.Value, 'device', _('Device'),
			_('The layer-3 device, e.g. eth1 or pppoe-wan. Learned from netifd when empty.'));
		o.placeholder = _('from netifd');
		o.datatype = 'network';
		o.modalonly = true;

		o = s.taboption('general', form.Value, 'gateway', _('Gateway'),
			_('The next hop. Learned from netifd (or the peer of a point-to-point link) when empty.'));
		o.placeholder = _('from netifd');
		o.datatype = 'ipaddr';
		o.modalonly = true;

		o = s.taboption('general', form.ListValue, 'initial_state', _('Initial state'),
			_('What rail assumes before the first probe rounds have answered.'));
		o.value('online', _('Online'));
		o.value('offline', _('Offline'));
		o.default = 'online';
		o.modalonly = true;

		o = s.taboption('tracking', form.ListValue, 'track_method', _('Tracking method'));
		o.value('ping', _('ICMP echo (ping)'));
		o.value('arping', _('ARP to the gateway'));
		o.value('tcp', _('TCP connect'));
		o.value('dns', _('DNS query'));
		o.default = 'ping';

		o = s.taboption('tracking', form.DynamicList, 'track_ip', _('Probe targets'),
			_('Hosts on the Internet, not the first hop: a dead upstream often still answers at the first hop. Use several. No targets: the uplink is judged by carrier alone.'));
		o.datatype = 'ipaddr';

		o = s.taboption('tracking', form.Value, 'track_port', _('TCP port'));
		o.datatype = 'port';
		o.placeholder = '443';
		o.depends('track_method', 'tcp');
		o.modalonly = true;

		o = s.taboption('tracking', form.Value, 'track_dns_name', _('Query name'));
		o.datatype = 'hostname';
		o.depends('track_method', 'dns');
		o.modalonly = true;

		o = s.taboption('tracking', form.Value, 'reliability', _('Reliability'),
			_('How many targets must answer for a probe round to count as good.'));
		o.datatype = 'min(1)';
		o.placeholder = '1';
		o.modalonly = true;

		o = s.taboption('tracking', form.Value, 'count', _('Probes per target'),
			_('Probes sent to each target in every round.'));
		o.datatype = 'range(1, 100)';
		o.placeholder = '1';
		o.modalonly = true;

		o = s.taboption('tracking', form.Value, 'timeout', _('Probe timeout'),
			_('Seconds (0.5) or milliseconds (500ms) to wait for a reply.'));
		o.validate = rail.validateDuration;
		o.placeholder = '1';
		o.modalonly = true;

		o = s.taboption('tracking', form.Value, 'interval', _('Interval'),
			_('Time between probe rounds while the uplink is up and healthy.'));
		o.validate = rail.validateDuration;
		o.placeholder = '1';

		o = s.taboption('tracking', form.Value, 'failure_interval', _('Failure interval'),
			_('Time between rounds while the uplink is suspect (up, but failing).'));
		o.validate = rail.validateDuration;
		o.modalonly = true;

		o = s.taboption('tracking', form.Value, 'recovery_interval', _('Recovery interval'),
			_('Time between rounds while the uplink is down or recovering.'));
		o.validate = rail.validateDuration;
		o.modalonly = true;

		o = s.taboption('tracking', form.Value, 'down', _('Rounds to go down'),
			_('Failed rounds in a row that take the uplink down.'));
		o.datatype = 'range(1, 100)';
		o.placeholder = '3';

		o = s.taboption('tracking', form.Value, 'up', _('Rounds to come back'),
			_('Good rounds in a row that bring the uplink back.'));
		o.datatype = 'range(1, 100)';
		o.placeholder = '5';

		o = s.taboption('tracking', form.Value, 'hold', _('Hold time'),
			_('Ignore probe results for this long after the uplink comes up or its device is recreated (e.g. a PPPoE reconnect).'));
		o.validate = rail.validateDuration;
		o.modalonly = true;

		o = s.taboption('quality', form.Flag, 'check_quality', _('Check link quality'),
			_('Also take the uplink down when latency or loss is too high, not only when probes go unanswered.'));
		o.modalonly = true;

		o = s.taboption('quality', form.Value, 'failure_latency', _('Failure latency (ms)'));
		o.datatype = 'uinteger';
		o.placeholder = '1000';
		o.depends('check_quality', '1');
		o.modalonly = true;

		o = s.taboption('quality', form.Value, 'recovery_latency', _('Recovery latency (ms)'),
			_('Lower than the failure latency, so a borderline link does not flap.'));
		o.datatype = 'uinteger';
		o.placeholder = '500';
		o.depends('check_quality', '1');
		o.modalonly = true;

		o = s.taboption('quality', form.Value, 'failure_loss', _('Failure loss (%)'));
		o.datatype = 'range(0, 100)';
		o.placeholder = '40';
		o.depends('check_quality', '1');
		o.modalonly = true;

		o = s.taboption('quality', form.Value, 'recovery_loss', _('Recovery loss (%)'));
		o.datatype = 'range(0, 100)';
		o.placeholder = '10';
		o.depends('check_quality', '1');
		o.modalonly = true;

		o = s.taboption('advanced', form.Value, 'ttl', _('Probe TTL'));
		o.datatype = 'range(1, 255)';
		o.depends('track_method', 'ping');
		o.modalonly = true;

		o = s.taboption('advanced', form.Value, 'size', _('Probe payload (bytes)'));
		o.datatype = 'range(0, 65507)';
		o.depends('track_method', 'ping');
		o.modalonly = true;

		o = s.taboption('advanced', form.Flag, 'flush_conntrack', _('Flush connections when down'),
			_("Delete this uplink's tracked connections when it goes down, so clients reconnect over another uplink at once."));
		o.modalonly = true;

		o = s.taboption('advanced', form.Flag, 'masquerade', _('Masquerade'),
			_('Masquerade traffic leaving this uplink. Not needed on OpenWrt, where the firewall zone does it.'));
		o.modalonly = true;

		return m.render();
	}
});
