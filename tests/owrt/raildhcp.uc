// A DHCP-like proto handler for rail's real-netifd tests (tests/owrt_netifd.rs): the
// interface's `lease` option names a JSON file {"address", "mask", "gateway"}; setup and
// renew (`ubus call network.interface.NAME renew`) announce what it holds now, as a DHCP
// client does on a renewal, so a test decides what changes.
import { readfile } from "fs";

function announce(proto) {
	let lease = json(readfile(proto.config.lease));
	proto.update_link(true, {
		ifname: proto.device,
		ipaddr: [{ ipaddr: lease.address, mask: "" + lease.mask }],
		routes: [{ target: "0.0.0.0", netmask: "0", gateway: lease.gateway }],
	});
}

netifd.add_proto({
	name: "raildhcp",
	"renew-handler": true,
	no_proto_task: true,
	setup: announce,
	renew: announce,
	teardown: (proto) => proto.update_link(false),
});
