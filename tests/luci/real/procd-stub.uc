// procd's `service` ubus object, the part that turns a saved configuration into a reload:
// rpcd's `uci apply` and `uci commit` call `service event {type: "config.change",
// data: {package: P}}`, and procd runs the reload trigger of the init script that asked for
// P (rail's: /etc/init.d/rail reload). This stand-in runs COMMAND for package PACKAGE and
// logs each event to LOG.  Usage: ucode procd-stub.uc SOCKET LOG PACKAGE COMMAND
//
// `event` declares ubus_rpc_session besides its own arguments, as every method reachable
// through uhttpd must.

import * as ubus from 'ubus';
import * as uloop from 'uloop';
import { open } from 'fs';

const socket = ARGV[0], logfile = ARGV[1], pkg = ARGV[2], command = ARGV[3];

function log(line) {
	let f = open(logfile, 'a');
	f.write(sprintf('%d %s\n', time(), line));
	f.close();
}

uloop.init();
const conn = ubus.connect(socket);
conn.publish('service', {
	event: {
		args: { type: '', data: {}, ubus_rpc_session: '' },
		call: function(req) {
			const data = req.args.data ?? {};
			log(sprintf('%s %s', req.args.type, data.package ?? '-'));
			if (req.args.type == 'config.change' && data.package == pkg)
				log(sprintf('reload: exit %d', system(command)));
			return 0;
		}
	}
});
uloop.run();
