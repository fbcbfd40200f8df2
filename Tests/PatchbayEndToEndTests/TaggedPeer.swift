import Foundation

/// A VLAN-tagging peer for hosts on trunk and tunnel ports, written in Python
/// over a packet socket.
///
/// Why not kernel VLAN interfaces (`ip link add ... type vlan`)? Kernels built
/// without CONFIG_VLAN_8021Q (this project's CI machine is one) cannot create
/// them. The peer sends real 802.1Q frames, and reads the tags the kernel
/// moved into PACKET_AUXDATA on receive, so the switch sees exactly what a VLAN
/// interface would send. The hosts on access ports stay real kernel stacks.
enum TaggedPeer {
  /// `ping` over VLAN `vlan`: a tagged ARP request for `target`, then tagged ICMP
  /// echoes; exits 0 once an echo reply arrives tagged with `vlan`, prints what it saw.
  static let ping = """
    import socket, struct, sys, time
    iface, vid, my_ip, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((iface, 0))
    s.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA: the kernel's view of the tag
    s.settimeout(0.2)
    me = s.getsockname()[4]
    ip = lambda a: socket.inet_aton(a)
    def tagged(dst, etype, payload):
        return dst + me + struct.pack("!HHH", 0x8100, vid, etype) + payload
    def checksum(b):
        if len(b) % 2: b += b"\\0"
        total = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        while total >> 16: total = (total & 0xffff) + (total >> 16)
        return ~total & 0xffff
    def receive(deadline):
        while time.time() < deadline:
            try:
                data, anc, _, _ = s.recvmsg(4096, 64)
            except socket.timeout:
                continue
            tci = None
            for level, kind, value in anc:
                if level == 263 and kind == 8:
                    status, _, _, _, _, vtci = struct.unpack("IIIHHH", value[:18])
                    if status & 0x10: tci = vtci
            if tci is None and len(data) >= 18 and data[12:14] == b"\\x81\\x00":
                tci = struct.unpack("!H", data[14:16])[0]; data = data[:12] + data[16:]
            yield (tci & 0xfff if tci is not None else None), data
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + me + ip(my_ip) + b"\\0" * 6 + ip(target)
    mac = None
    for attempt in range(5):
        s.send(tagged(b"\\xff" * 6, 0x0806, arp))
        for vlan, data in receive(time.time() + 0.5):
            if data[12:14] == b"\\x08\\x06" and data[20:22] == b"\\0\\2" and data[28:32] == ip(target):
                print("arp reply vlan", vlan); mac = data[22:28]
                if vlan != vid: sys.exit("arp reply not tagged with vlan %d" % vid)
                break
        if mac: break
    if not mac: sys.exit("no arp reply")
    for seq in range(5):
        icmp = struct.pack("!BBHHH", 8, 0, 0, 0x5042, seq) + b"patchbay" * 4
        icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0, ip(my_ip), ip(target))
        hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
        s.send(tagged(mac, 0x0800, hdr + icmp))
        for vlan, data in receive(time.time() + 0.5):
            if data[12:14] == b"\\x08\\x00" and data[23] == 1 and data[34] == 0 and data[26:30] == ip(target):
                print("echo reply vlan", vlan)
                sys.exit(0 if vlan == vid else "echo reply not tagged with vlan %d" % vid)
    sys.exit("no echo reply")
    """

  /// Sends the frames given in hex (argv[2:]) on `argv[1]`, as they are.
  static let send = """
    import socket, sys
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((sys.argv[1], 0))
    for frame in sys.argv[2:]:
        s.send(bytes.fromhex(frame))
    """
}

/// The frames of a classic pcap file (what `tcpdump -w` writes), with VLAN tags
/// as libpcap reconstructs them from the kernel's auxiliary data.
func pcapFrames(atPath path: String) throws -> [[UInt8]] {
  let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  guard bytes.count >= 24 else { return [] }
  let little = bytes[0] == 0xD4
  func word(_ offset: Int) -> Int {
    let b = bytes[offset..<offset + 4].map(Int.init)
    return little
      ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[3] | b[2] << 8 | b[1] << 16 | b[0] << 24
  }
  var frames: [[UInt8]] = []
  var offset = 24
  while offset + 16 <= bytes.count {
    let length = word(offset + 8)
    guard offset + 16 + length <= bytes.count else { break }
    frames.append(Array(bytes[(offset + 16)..<(offset + 16 + length)]))
    offset += 16 + length
  }
  return frames
}

/// Captures on `eth0` of `namespace` with tcpdump into a file until `stop()`.
final class Capture {
  let file: String
  private let process = Process()

  init(namespace: String, filter: [String] = [], snaplen: Int = 262_144) throws {
    file =
      FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-\(UUID().uuidString).pcap").path
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
    process.arguments =
      [
        "netns", "exec", namespace, "tcpdump", "-i", "eth0", "-n", "--immediate-mode", "-U", "-w",
        file,
      ]
      + filter
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    for _ in 0..<100 where !FileManager.default.fileExists(atPath: file) { usleep(50_000) }
    usleep(300_000)
  }

  /// Stops tcpdump and returns the frames. SIGKILL, because a child of a
  /// dispatch thread may have SIGINT blocked; nothing is lost, because
  /// --immediate-mode hands each packet to tcpdump at once (not when a ring
  /// block retires, up to a second later) and -U writes it out at once.
  func stop() throws -> [[UInt8]] {
    usleep(300_000)
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    defer { try? FileManager.default.removeItem(atPath: file) }
    return try pcapFrames(atPath: file)
  }

  deinit {
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
  }
}

extension Array where Element == UInt8 {
  /// Lower-case hex, no separators.
  var hex: String { map { String(format: "%02x", $0) }.joined() }
}
