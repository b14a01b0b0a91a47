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
		const [ m, s ] = rail.gridPage(form, 'interface', _('Multi-WAN (rail): Interfaces'),
			_('One entry per uplink. The name must be the interface name in /etc/config/network (e.g. wan, wwan). Device and gateway are learned from netifd when left empty.'),
			_('Uplinks'));

		s.tab('general', _('General'));
		s.tab('tracking', _('Tracking'));
		s.tab('quality', _('Link quality'));
		s.tab('advanced', _('Advanced'));

		/* One option: its widget, then its properties; `depends` is [ option, value ]. */
		const add = (tab, cls, name, title, description, props) => {
			const o = s.taboption(tab, cls, name, title, description);
			const { depends, ...rest } = props || {};
			Object.assign(o, rest);
			if (depends)
				o.depends(depends[0], depends[1]);
			return o;
		};
		const choices = (o, list) => list.forEach(([ key, label ]) => o.value(key, label));
		const modal = { modalonly: true };
		const probeTime = { validate: rail.durationIn('10ms', '1h'), modalonly: true };
		const latency = { validate: rail.durationIn('1ms', '30s') };
		const rounds = { datatype: 'range(1, 100)' };
		const quality = { depends: [ 'check_quality', '1' ], modalonly: true };

		add('general', form.Flag, 'enabled', _('Enabled'), null, { editable: true, default: '1' });
		choices(add('general', form.ListValue, 'family', _('Family'), null, { default: 'ipv4' }),
			[ [ 'ipv4', _('IPv4') ], [ 'ipv6', _('IPv6') ], [ 'both', _('IPv4 and IPv6') ] ]);
		add('general', form.Value, 'device', _('Device'),
			_('The layer-3 device, e.g. eth1 or pppoe-wan. Learned from netifd when empty.'),
			{ ...modal, datatype: 'netdevname', placeholder: _('from netifd') });
		add('general', form.Value, 'gateway', _('Gateway'),
			_('The next hop. Learned from netifd (or the peer of a point-to-point link) when empty.'),
			{ ...modal, datatype: 'ipaddr("nomask")', placeholder: _('from netifd') });
		choices(add('general', form.ListValue, 'initial_state', _('Initial state'),
			_('What rail assumes before the first probe rounds have answered.'), { ...modal, default: 'online' }),
			[ [ 'online', _('Online') ], [ 'offline', _('Offline') ] ]);

		choices(add('tracking', form.ListValue, 'track_method', _('Tracking method'), null, { default: 'ping' }), [
			[ 'ping', _('ICMP echo (ping)') ], [ 'arping', _('ARP to the gateway') ],
			[ 'tcp', _('TCP connect') ], [ 'dns', _('DNS query') ]
		]);
		add('tracking', form.DynamicList, 'track_ip', _('Probe targets'),
			_('Hosts on the Internet, not the first hop: a dead upstream often still answers at the first hop. Use several. No targets: the uplink is judged by carrier alone.'),
			{ datatype: 'ipaddr("nomask")' });
		add('tracking', form.Value, 'track_port', _('TCP port'), null,
			{ ...modal, datatype: 'range(1, 65535)', placeholder: '443', depends: [ 'track_method', 'tcp' ] });
		add('tracking', form.Value, 'track_dns_name', _('Query name'), null,
			{ ...modal, datatype: 'or(hostname, ".")', placeholder: '.', depends: [ 'track_method', 'dns' ] });
		add('tracking', form.Value, 'reliability', _('Reliability'),
			_('How many targets must answer for a probe round to count as good.'),
			{ ...modal, datatype: 'range(1, 64)', placeholder: '1' });
		add('tracking', form.Value, 'count', _('Probes per target'),
			_('Probes sent to each target in every round.'), { ...modal, datatype: 'range(1, 10)', placeholder: '1' });
		add('tracking', form.Value, 'timeout', _('Probe timeout'),
			_('How long to wait for a reply: seconds (0.5) or with a unit (500ms).'),
			{ ...probeTime, placeholder: _('half of interval, at most 1s') });
		/* In the table and the editor: modalonly false would keep it out of the editor. */
		add('tracking', form.Value, 'interval', _('Interval'),
			_('Time between probe rounds while the uplink is up and healthy.'),
			{ ...probeTime, placeholder: '1s', modalonly: null });
		add('tracking', form.Value, 'failure_interval', _('Failure interval'),
			_('Time between rounds while the uplink is suspect (up, but failing).'),
			{ ...probeTime, placeholder: _('half of interval, at least timeout') });
		add('tracking', form.Value, 'recovery_interval', _('Recovery interval'),
			_('Time between rounds while the uplink is down or recovering.'),
			{ ...probeTime, placeholder: _('interval, at least timeout') });
		add('tracking', form.Value, 'down', _('Rounds to go down'),
			_('Failed rounds in a row that take the uplink down.'), { ...rounds, placeholder: '3' });
		add('tracking', form.Value, 'up', _('Rounds to come back'),
			_('Good rounds in a row that bring the uplink back.'), { ...rounds, placeholder: '5' });
		add('tracking', form.Value, 'hold', _('Hold time'),
			_('Ignore probe results for this long after the uplink comes up or its device is recreated (e.g. a PPPoE reconnect).'),
			{ ...modal, validate: rail.durationIn('0ms', '10m'), placeholder: '2s' });

		add('quality', form.Flag, 'check_quality', _('Check link quality'),
			_('Also take the uplink down when latency or loss is too high, not only when probes go unanswered.'), modal);
		add('quality', form.Value, 'failure_latency', _('Failure latency'), null,
			{ ...quality, ...latency, placeholder: '300ms' });
		add('quality', form.Value, 'recovery_latency', _('Recovery latency'),
			_('Lower than the failure latency, so a borderline link does not flap.'),
			{ ...quality, ...latency, placeholder: '150ms' });
		add('quality', form.Value, 'failure_loss', _('Failure loss (%)'), null,
			{ ...quality, datatype: 'range(0, 100)', placeholder: '20' });
		add('quality', form.Value, 'recovery_loss', _('Recovery loss (%)'), null,
			{ ...quality, datatype: 'range(0, 100)', placeholder: '5' });

		add('advanced', form.Value, 'ttl', _('Probe TTL'), null,
			{ ...modal, datatype: 'range(1, 255)', placeholder: '64', depends: [ 'track_method', 'ping' ] });
		add('advanced', form.Value, 'size', _('Probe payload (bytes)'), null,
			{ ...modal, datatype: 'range(0, 1472)', placeholder: '56', depends: [ 'track_method', 'ping' ] });
		add('advanced', form.Flag, 'flush_conntrack', _('Flush connections when down'),
			_("Delete this uplink's tracked connections when it goes down, so clients reconnect over another uplink at once."),
			{ ...modal, default: '1' });
		add('advanced', form.Value, 'rate', _('Shape to'),
			_('Limit traffic leaving this uplink to this rate (e.g. 20mbit), just below what the line carries, so queues build here and not in the modem. Never replaces a queueing discipline rail did not install, such as SQM.'),
			{ ...modal, validate: rail.rateIn('8kbit', '100gbit'), placeholder: _('no shaping') });
		add('advanced', form.Flag, 'passive', _('Watch LAN connections'),
			_('Also watch the new connections leaving by this uplink: when several go unanswered, probe at once and take the uplink down in well under a second if the probes fail too.'), modal);
		add('advanced', form.Flag, 'masquerade', _('Masquerade'),
			_('Masquerade traffic leaving this uplink. Not needed on OpenWrt, where the firewall zone does it.'), modal);
		add('advanced', form.Value, 'ip6prefix', _('Delegated IPv6 prefix'),
			_('The prefix the provider delegates to this uplink (DHCPv6-PD), when netifd does not report it. An uplink without a global IPv6 address of its own is probed and routed from an address of this prefix. Needs family IPv6 or both.'),
			{ ...modal, datatype: 'or(ipaddr("nomask"), cidr)', placeholder: _("learned from netifd's delegated prefix") });
		add('advanced', form.Value, 'npt_internal', _('NPTv6 internal prefix'),
			_("The LAN's IPv6 prefix (e.g. a ULA /64), translated into the external prefix when leaving this uplink."),
			{ ...modal, datatype: 'or(ipaddr("nomask"), cidr)' });
		add('advanced', form.Value, 'npt_external', _('NPTv6 external prefix'),
			_('The prefix this provider routes to this uplink, of the same length as the internal one. Empty: taken from the prefix the provider delegates.'),
			{ ...modal, datatype: 'or(ipaddr("nomask"), cidr)', placeholder: _("learned from netifd's delegated prefix") });

		return m.render();
	}
});
