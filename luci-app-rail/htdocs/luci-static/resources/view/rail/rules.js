'use strict';
'require view';
'require form';
'require uci';
'require rail';

/*
 * Network > Multi-WAN > Rules: which traffic goes to which policy. Rules are
 * matched top to bottom; the first match decides. Empty fields match anything.
 */

/* rail's prefixes: an address, or an address with a prefix length. */
const PREFIX = 'or(ipaddr("nomask"), cidr)';

return view.extend({
	load() {
		return uci.load('rail');
	},

	render() {
		const [ m, s ] = rail.gridPage(form, 'rule', _('Multi-WAN (rail): Rules'),
			_('Rules are matched from top to bottom and the first match decides. Only new connections are matched: an established connection stays on its uplink.'),
			_('Rules'));
		s.sortable = true;

		let o = s.option(form.DynamicList, 'src_ip', _('Source address'));
		o.datatype = PREFIX;
		o.modalonly = true;

		o = s.option(form.DynamicList, 'dest_ip', _('Destination address'));
		o.datatype = PREFIX;

		o = s.option(form.DynamicList, 'src_port', _('Source port'));
		o.datatype = 'portrange';
		o.modalonly = true;

		o = s.option(form.DynamicList, 'dest_port', _('Destination port'));
		o.datatype = 'portrange';

		o = s.option(form.Value, 'proto', _('Protocol'),
			_('all, tcp, udp, icmp, icmpv6, gre, esp, ah, sctp, udplite or an IP protocol number. Ports need tcp or udp.'));
		o.value('all', _('all'));
		o.value('tcp', 'TCP');
		o.value('udp', 'UDP');
		o.value('icmp', 'ICMP');
	o.value('icmpv6', 'ICMPv6');
		o.validate = rail.validateProto;
		o.placeholder = 'all';

		o = s.option(form.DynamicList, 'src_dev', _('Incoming device'),
			_('LAN devices the traffic arrives on, e.g. br-lan.'));
		o.datatype = 'netdevname';
		o.modalonly = true;

		o = s.option(form.Value, 'ipset', _('Destination set'),
			_("Name of an nftables set in rail's table holding destination addresses (e.g. filled by dnsmasq)."));
		o.datatype = 'uciname';
		o.modalonly = true;

		o = s.option(form.ListValue, 'family', _('Family'));
		o.value('ipv4', _('IPv4'));
		o.value('ipv6', _('IPv6'));
		o.value('any', _('IPv4 and IPv6'));
		o.default = 'any';
		o.modalonly = true;

		o = s.option(form.Flag, 'sticky', _('Sticky'),
			_('Keep a source address on the uplink it last used, for services that tie a session to the client address.'));
		o.modalonly = true;

		o = s.option(form.Value, 'timeout', _('Sticky timeout'),
			_('How long a source address stays on its uplink after its last new connection.'));
		o.validate = rail.durationIn('1s', '24h');
		o.placeholder = '10m';
		o.depends('sticky', '1');
		o.modalonly = true;

		o = s.option(form.ListValue, 'use_policy', _('Policy'));
		for (const pol of uci.sections('rail', 'policy'))
			o.value(pol['.name']);
		o.value('default', _('default: the main routing table'));
		o.value('unreachable', _('unreachable: reject'));
		o.value('blackhole', _('blackhole: drop'));
		o.rmempty = false;

		return m.render();
	}
});
