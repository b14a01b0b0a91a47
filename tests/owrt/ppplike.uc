// A PPPoE-like netifd proto handler for the real-netifd lab (tests/owrt_netifd.rs). The lab
// creates and deletes the point-to-point device itself (tests/lab/lab.sh pppoe-up,
// pppoe-drop), as pppd would; this handler plays pppd and its ppp-up script: setup waits
// for the device named by the `ifname` option, announces it with its local address and
// peer and a default route through it, then runs a watcher as the proto's task, which
// exits when the device goes away. netifd takes that exit as the session ending: the
// interface goes down and setup runs again, waiting for the next device.
//
// The session's addresses are the device's, as the lab set them. netifd deletes them when
// it takes the interface down (`ubus call network.interface.NAME down`); the next setup
// then puts back the last ones, kept in the file named by the `session` option, as pppd
// would get them again from the same server.
import { readfile, writefile, popen } from "fs";

function device_addr(ifname) {
	let p = popen(`ip -4 -o addr show dev ${ifname} 2>/dev/null`);
	let out = p ? p.read("all") : "";
	p?.close();
	let m = match(out, /inet ([0-9.]+) peer ([0-9.]+)/);
	return m ? { local: m[1], peer: m[2] } : null;
}

function device_exists(ifname) {
	return system(`ip link show dev ${ifname} >/dev/null 2>&1`) == 0;
}

netifd.add_proto({
	name: "ppplike",
	"no-device": true,
	available: true,

	config: function(ctx) {
		return {
			ifname: ctx.uci.get("network", ctx.section, "ifname"),
			session: ctx.uci.get("network", ctx.section, "session"),
		};
	},

	setup: function(proto) {
		let ifname = proto.config.ifname;
		for (let i = 0; i < 600 && !device_exists(ifname); i++)
			sleep(50);
		// The lab gives a new device its addresses right after creating it.
		let addr;
		for (let i = 0; i < 20 && !(addr = device_addr(ifname)); i++)
			sleep(50);
		if (addr) {
			writefile(proto.config.session, sprintf("%J", addr));
		} else {
			addr = json(readfile(proto.config.session) ?? "null");
			if (addr)
				system(`ip addr add ${addr.local} peer ${addr.peer} dev ${ifname}`);
		}
		if (!addr)
			return proto.setup_failed();
		proto.update_link(true, {
			ifname,
			ipaddr: [ { ipaddr: addr.local, mask: "32", ptp: addr.peer } ],
			routes: [ { target: "0.0.0.0", netmask: "0" } ],
		});
		proto.run_command([ "/bin/sh", "-c",
			`while [ -e /sys/class/net/${ifname} ]; do sleep 0.1; done` ]);
	},

	teardown: function(proto) {
		proto.kill_command();
		proto.update_link(false);
	},
});
