#!/usr/bin/env python3
"""The lab's "Internet service" and its client (python3 standard library only).

serve: run inside the Internet namespace. Two listeners on every address of the namespace
  (IPv4 and, when the kernel has it, IPv6):
  HTTP  (port 80):   any request is answered with the client's address, e.g. "192.0.2.2\n".
  echo  (port 9000): sends the client's address and a newline on accept, then echoes every
                     byte back until the client closes (long-lived flows for tests).
  After both sockets listen it writes its pid to --pidfile, so lab.sh knows it is ready.

tally: run inside the LAN namespace. Opens N HTTP connections one after another (each a new
  source port, so a new flow) and prints one JSON object {"<source seen>": count, ...};
  connections that fail count under "error".
"""

import argparse
import json
import os
import selectors
import socket
import sys

MAX_REQUEST = 8192


def serve(args):
    sel = selectors.DefaultSelector()
    families = [(socket.AF_INET, "0.0.0.0")]
    if socket.has_ipv6 and os.path.exists("/proc/net/if_inet6"):
        families.append((socket.AF_INET6, "::"))
    for port, kind in ((args.http_port, "http"), (args.echo_port, "echo")):
        for family, anyaddr in families:
            s = socket.socket(family, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((anyaddr, port))
            s.listen(512)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, ("listen", kind))
    tmp = args.pidfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.rename(tmp, args.pidfile)

    buffers = {}
    while True:
        for key, _ in sel.select():
            role, kind = key.data
            sock = key.fileobj
            if role == "listen":
                try:
                    conn, addr = sock.accept()
                    peer = addr[0]
                except OSError:
                    continue
                conn.setblocking(False)
                if kind == "echo":
                    try:
                        conn.send(f"{peer}\n".encode())
                    except OSError:
                        conn.close()
                        continue
                buffers[conn] = (peer, b"")
                sel.register(conn, selectors.EVENT_READ, ("conn", kind))
                continue
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            peer, seen = buffers[sock]
            if not data:
                sel.unregister(sock)
                del buffers[sock]
                sock.close()
                continue
            if kind == "echo":
                try:
                    sock.sendall(data)
                except OSError:
                    pass
                continue
            seen += data
            if b"\r\n\r\n" in seen or b"\n\n" in seen or len(seen) > MAX_REQUEST:
                body = f"{peer}\n".encode()
                head = (
                    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                ).encode()
                try:
                    sock.setblocking(True)
                    sock.settimeout(1)
                    sock.sendall(head + body)
                except OSError:
                    pass
                sel.unregister(sock)
                del buffers[sock]
                sock.close()
            else:
                buffers[sock] = (peer, seen)


def fetch(host, port, timeout, source=None):
    with socket.create_connection((host, port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as s:
        s.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        reply = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200"):
        raise OSError(f"bad reply {reply[:60]!r}")
    return body.decode().strip()


def tally(args):
    counts = {}
    for _ in range(args.count):
        try:
            seen = fetch(args.host, args.port, args.timeout, args.source)
        except OSError:
            seen = "error"
        counts[seen] = counts.get(seen, 0) + 1
    json.dump(counts, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--http-port", type=int, default=80)
    s.add_argument("--echo-port", type=int, default=9000)
    s.add_argument("--pidfile", required=True)
    t = sub.add_parser("tally")
    t.add_argument("--host", required=True)
    t.add_argument("--port", type=int, default=80)
    t.add_argument("--source", help="local address to bind (default: the kernel's choice)")
    t.add_argument("-n", "--count", type=int, default=1)
    t.add_argument("--timeout", type=float, default=2.0)
    args = p.parse_args()
    if args.cmd == "serve":
        serve(args)
    else:
        tally(args)


if __name__ == "__main__":
    main()
