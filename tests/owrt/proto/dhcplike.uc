// A DHCP-like netifd proto handler for the real-netifd lab (tests/owrt_netifd.rs): the
// "lease" is a JSON file named by the interface's `lease` option, {"ipaddr": "192.0.2.34",
// "mask": "28", "gateway": "192.0.2.33"}. setup and renew (`ubus call
// network.interface.<name> renew`) send what the file says now, as udhcpc's dhcp.script
// does on bound and renew (a full update, no `keep`): so a renewal can bring a new address,
// or a new gateway only.
import { readfile } from "fs";

function lease_update(proto) {
	let lease = json(readfile(proto.config.lease));
	return proto.update_link(true, {
		ifname: proto.device,
		ipaddr: [ { ipaddr: lease.ipaddr, mask: lease.mask } ],
		routes: [ { target: "0.0.0.0", netmask: "0", gateway: lease.gateway } ],
	});
}

netifd.add_proto({
	name: "dhcplike",
	"renew-handler": true,

	config: function(ctx) {
		return { lease: ctx.uci.get("network", ctx.section, "lease") };
	},

	setup: lease_update,
	renew: lease_update,

	teardown: function(proto) {
		proto.update_link(false);
	},
});
