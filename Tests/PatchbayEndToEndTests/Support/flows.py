#!/usr/bin/env python3
"""Many concurrent flows for the NAT tests, written for Patchbay's test suite.

  flows.py udp-server ADDRESS PORT          echo every datagram back
  flows.py tcp-server ADDRESS PORT          echo whatever each connection sends
  flows.py udp-clients SERVER PORT COUNT    COUNT sockets, one datagram each; prints "udp OK/COUNT"
  flows.py tcp-clients SERVER PORT COUNT    COUNT connections open at once; prints "tcp OK/COUNT"
  flows.py udp-refused SERVER PORT          prints "refused" when an ICMP port unreachable comes back
"""
import resource
import selectors
import socket
import sys
import time


def raise_file_limit(count):
    wanted = count + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))


def udp_server(address, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((address, port))
    while True:
        data, peer = sock.recvfrom(2048)
        sock.sendto(data, peer)


def tcp_server(address, port):
    raise_file_limit(8192)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(4096)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                try:
                    connection, _ = listener.accept()
                except BlockingIOError:
                    continue
                connection.setblocking(False)
                selector.register(connection, selectors.EVENT_READ)
            else:
                try:
                    data = key.fileobj.recv(4096)
                except (BlockingIOError, ConnectionError):
                    data = b""
                if data:
                    key.fileobj.send(data)
                else:
                    selector.unregister(key.fileobj)
                    key.fileobj.close()


def udp_clients(server, port, count):
    """COUNT flows, all kept open; sent in windows of 200 so the single-threaded
    echo server upstream never overflows its socket buffer, and resent while
    unanswered (UDP may lose a datagram)."""
    raise_file_limit(count)
    sockets = []
    for index in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.connect((server, port))
        sockets.append(sock)
    selector = selectors.DefaultSelector()
    answered = 0
    for start in range(0, count, 200):
        pending = {}
        for index in range(start, min(start + 200, count)):
            pending[sockets[index]] = b"flow %d" % index
            selector.register(sockets[index], selectors.EVENT_READ)
        for _ in range(5):
            for sock, message in pending.items():
                try:
                    sock.send(message)
                except (BlockingIOError, ConnectionError):
                    pass
            deadline = time.time() + 1
            while pending and time.time() < deadline:
                for key, _ in selector.select(timeout=0.1):
                    sock = key.fileobj
                    try:
                        data = sock.recv(2048)
                    except (BlockingIOError, ConnectionError):
                        continue
                    if pending.get(sock) == data:
                        del pending[sock]
                        selector.unregister(sock)
                        answered += 1
            if not pending:
                break
        for sock in pending:
            selector.unregister(sock)
    print("udp %d/%d" % (answered, count), flush=True)


def tcp_clients(server, port, count):
    raise_file_limit(count)
    connections = []
    for index in range(count):
        sock = socket.create_connection((server, port), timeout=10)
        connections.append(sock)
    answered = 0
    for index, sock in enumerate(connections):
        message = b"connection %d" % index
        sock.sendall(message)
        if sock.recv(64) == message:
            answered += 1
    print("tcp %d/%d" % (answered, count), flush=True)
    for sock in connections:
        sock.close()


def udp_refused(server, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(3)
    sock.connect((server, port))
    sock.send(b"anyone?")
    try:
        sock.recv(64)
        print("answered")
    except ConnectionRefusedError:
        print("refused")
    except socket.timeout:
        print("timeout")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "udp-server":
        udp_server(sys.argv[2], int(sys.argv[3]))
    elif mode == "tcp-server":
        tcp_server(sys.argv[2], int(sys.argv[3]))
    elif mode == "udp-clients":
        udp_clients(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "tcp-clients":
        tcp_clients(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "udp-refused":
        udp_refused(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("unknown mode " + mode)
