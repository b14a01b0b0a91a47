// procd's `system` ubus object (methods board and info), which LuCI's overview reads.
// procd is OpenWrt's init and does not run on Debian, so run-luci.sh publishes this
// stand-in from the host's /proc. Usage: ucode system-stub.uc [UBUS_SOCKET]
//
// Every method declares `ubus_rpc_session`: uhttpd's JSON-RPC adds that argument to each
// call, and ubusd refuses arguments a method does not declare (status 2).

import * as ubus from 'ubus';
import * as uloop from 'uloop';
import { readfile } from 'fs';

function proc_kb(text, key) {
	let m = match(text, regexp(`${key}:\\s+([0-9]+) kB`));
	return m ? +m[1] * 1024 : 0;
}

function board() {
	let uname = split(trim(readfile('/proc/version') ?? ''), ' ');
	return {
		kernel: uname[2] ?? 'unknown',
		hostname: trim(readfile('/proc/sys/kernel/hostname') ?? 'OpenWrt'),
		system: 'x86_64 (Debian host running OpenWrt daemons)',
		model: 'rail real-OpenWrt lab',
		board_name: 'rail-lab',
		rootfs_type: 'ext4',
		release: {
			distribution: 'OpenWrt',
			version: 'SNAPSHOT',
			revision: 'rail-lab',
			target: 'x86/64',
			description: 'OpenWrt SNAPSHOT (daemons built from source)'
		}
	};
}

function info() {
	let mem = readfile('/proc/meminfo') ?? '';
	let load = map(slice(split(trim(readfile('/proc/loadavg') ?? '0 0 0'), ' '), 0, 3),
		(l) => int(+l * 65536));
	return {
		localtime: time(),
		uptime: int(+split(readfile('/proc/uptime') ?? '0', ' ')[0]),
		load: load,
		memory: {
			total: proc_kb(mem, 'MemTotal'),
			free: proc_kb(mem, 'MemFree'),
			shared: proc_kb(mem, 'Shmem'),
			buffered: proc_kb(mem, 'Buffers'),
			available: proc_kb(mem, 'MemAvailable'),
			cached: proc_kb(mem, 'Cached')
		},
		root: { total: 0, free: 0, used: 0, avail: 0 },
		tmp: { total: 0, free: 0, used: 0, avail: 0 },
		swap: { total: proc_kb(mem, 'SwapTotal'), free: proc_kb(mem, 'SwapFree') }
	};
}

uloop.init();
let conn = ubus.connect(ARGV[0]);
if (!conn)
	die(`system-stub: cannot connect to ubus: ${ubus.error()}\n`);

let obj = conn.publish('system', {
	board: { call: () => board(), args: { ubus_rpc_session: '' } },
	info: { call: () => info(), args: { ubus_rpc_session: '' } }
});
if (!obj)
	die(`system-stub: cannot publish 'system': ${ubus.error()}\n`);

uloop.run();
