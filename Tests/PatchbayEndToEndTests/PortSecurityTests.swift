import Foundation
import Testing

/// Port security end to end: one lab with a port for each key, real traffic
/// from real kernel stacks, spoofed frames from packet sockets (inject.py).
/// Each check shows the attack failing where the key is set and, where the
/// outcome could otherwise be vacuous, the same attack working from an
/// unguarded control port.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct PortSecurityTests {
  static let lab = "e2psec"

  /// A port per key, `dc` the unguarded control, `nb` the neighbour that
  /// attacks aim at, `cl` a bystander (ARP cache, DHCP client).
  static let topology = """
    name: \(lab)
    switches:
      core:
        ports:
          mm: {max-macs: 4}
          ml: {mac-lock: true}
          ig: {ip-guard: true}
          dg: {dhcp-guard: true}
          p1: {protected: true}
          p2: {protected: true}
          dc: {}
          nb: {}
          cl: {}
    hosts:
      mm: {port: core/mm, address: 10.0.9.1/24}
      ml: {port: core/ml, address: 10.0.9.2/24}
      ig: {port: core/ig, address: 10.0.9.3/24}
      dg: {port: core/dg, address: 10.0.9.4/24}
      p1: {port: core/p1, address: 10.0.9.6/24}
      p2: {port: core/p2, address: 10.0.9.7/24}
      dc: {port: core/dc, address: 10.0.9.5/24}
      nb: {port: core/nb, address: 10.0.9.8/24}
      cl: {port: core/cl, address: 10.0.9.9/24}
    """
  static let neighbour = "10.0.9.8"

  @Test func eachKeyStopsItsAttackAndLetsTheHostsOwnTrafficThrough() throws {
    try Harness.withLab(Self.topology, named: Self.lab) { _ in
      let status = try Harness.status(Self.lab)
      try Self.maxMACs(status)
      try Self.macLock(status)
      try Self.ipGuard(status)
      try Self.dhcpGuard()
      try Self.protectedPorts(status)
      let after = try Harness.status(Self.lab)
      Harness.expectCountersAddUp(after)
      print(
        "port security drops:",
        Harness.ports(in: after).map { "\($0["name"] ?? "?") \($0["drops"] ?? [:])" })
    }
  }

  /// `max-macs: 4`: the host's own MAC (learned from its first ping) and the
  /// first 3 injected sources are learned; the other 5 injected sources are
  /// dropped, one `max-macs` drop each, and never enter the table. The host's
  /// own traffic, from a MAC among the first four, keeps working.
  static func maxMACs(_ status: [String: Any]) throws {
    let ping = try Harness.exec(lab, "mm", "ping", "-c", "1", "-W", "2", neighbour)
    #expect(ping.status == 0, "\(ping.output)")
    let own = try Harness.mac(of: "mm", in: status)
    // Sources 02:ee:00:00:00:01 to :08, one broadcast frame each.
    let report = try Inject.run(lab, "mm", "macs", "8")
    #expect(report["sent"] as? Int == 8, "\(report)")
    let learned = try Harness.fdb(lab).filter { $0["port"] as? String == "mm" }
      .compactMap { $0["mac"] as? String }.sorted()
    #expect(
      learned == [own, "02:ee:00:00:00:01", "02:ee:00:00:00:02", "02:ee:00:00:00:03"].sorted(),
      "learned on mm: \(learned)")
    let again = try Harness.exec(lab, "mm", "ping", "-c", "2", "-i", "0.2", "-W", "2", neighbour)
    #expect(again.status == 0, "mm's own traffic must still pass: \(again.output)")
    let drops = Harness.drops("core/mm", in: try Harness.status(lab))
    #expect(drops == ["max-macs": 5], "core/mm: \(drops)")
  }

  /// `mac-lock: true`: frames from the locked port with any source but its
  /// host's MAC are dropped (`mac-lock`), never learned, and never reach the
  /// neighbour; the same frames from the control port do reach it, which
  /// proves the capture would have seen them. The host's own traffic passes.
  static func macLock(_ status: [String: Any]) throws {
    let spoofed = "026600000001"
    let control = "026600000002"
    let capture = try Capture(namespace: "\(lab)-nb", filter: ["ether", "proto", "0x88b5"])
    let frame = { (source: String) in
      "ffffffffffff" + source + "88b5" + String(repeating: "00", count: 46)
    }
    try Inject.frames(lab, "ml", Array(repeating: frame(spoofed), count: 5))
    try Inject.frames(lab, "dc", Array(repeating: frame(control), count: 5))
    let seen = try capture.stop().map { Array($0[6..<12]).hex }
    #expect(seen.filter { $0 == spoofed }.isEmpty, "spoofed frames reached nb: \(seen)")
    #expect(seen.filter { $0 == control }.count == 5, "the control frames must arrive: \(seen)")
    let table = try Harness.fdb(lab)
    #expect(!table.contains { $0["mac"] as? String == "02:66:00:00:00:01" }, "\(table)")
    let ping = try Harness.exec(lab, "ml", "ping", "-c", "2", "-i", "0.2", "-W", "2", neighbour)
    #expect(ping.status == 0, "ml's own traffic must pass: \(ping.output)")
    let drops = Harness.drops("core/ml", in: try Harness.status(lab))
    #expect(drops == ["mac-lock": 5], "core/ml: \(drops)")
  }

  /// `ip-guard: true` (the host's address, 10.0.9.3):
  /// (a) echo requests from a spoofed source never reach the neighbour
  ///     (they do from the control port);
  /// (b) gratuitous ARP claiming the neighbour's address does not poison a
  ///     bystander's ARP cache (from the control port it does: Linux updates
  ///     an existing entry from a gratuitous ARP whatever `arp_accept` says);
  /// (c) the host's own ping works.
  /// IPv6 is turned off in the guarded host first: the guard drops all IPv6
  /// (lab hosts have no IPv6 address to guard), and the kernel's link-local
  /// chatter would make the count inexact.
  static func ipGuard(_ status: [String: Any]) throws {
    let sysctl = try Harness.exec(
      lab, "ig", "sysctl", "-q", "-w", "net.ipv6.conf.eth0.disable_ipv6=1")
    #expect(sysctl.status == 0, "\(sysctl.errors)")
    usleep(200_000)  // whatever IPv6 ig sent on the way down has been counted
    let neighbourMAC = try Harness.mac(of: "nb", in: status)
    let before = Harness.drops("core/ig", in: try Harness.status(lab))["ip-guard"] ?? 0

    // (a) Spoofed echo requests, 10.0.9.99 from ig and 10.0.9.98 from dc.
    let capture = try Capture(namespace: "\(lab)-nb", filter: ["icmp"])
    for (host, source) in [("ig", "10.0.9.99"), ("dc", "10.0.9.98")] {
      let report = try Inject.run(
        lab, host, "ping", "--src", source, "--dst", neighbour, "--dst-mac", neighbourMAC)
      #expect(report["sent"] as? Int == 3, "\(report)")
    }
    let echoes = try capture.stop().filter { $0.count >= 34 && $0[12] == 0x08 && $0[13] == 0 }
      .map { $0[26..<30].map(String.init).joined(separator: ".") }
    #expect(!echoes.contains("10.0.9.99"), "spoofed echoes from ig reached nb: \(echoes)")
    #expect(echoes.filter { $0 == "10.0.9.98" }.count == 3, "control echoes: \(echoes)")

    // (b) The bystander knows the neighbour; a gratuitous ARP from ig claims its address.
    #expect(try Harness.exec(lab, "cl", "ping", "-c", "1", "-W", "2", neighbour).status == 0)
    let cached = { try Harness.exec(lab, "cl", "ip", "neigh", "show", neighbour).output }
    var entry = try cached()
    #expect(entry.contains(neighbourMAC), "cl's cache: \(entry)")
    let garp = try Inject.run(lab, "ig", "garp", "--ip", neighbour)
    #expect(garp["sent"] as? Int == 3, "\(garp)")
    usleep(200_000)
    entry = try cached()
    #expect(entry.contains(neighbourMAC), "ig poisoned cl's cache: \(entry)")
    // The same from the control port poisons it: the check above was not vacuous.
    let controlMAC = try Harness.mac(of: "dc", in: status)
    _ = try Inject.run(lab, "dc", "garp", "--ip", neighbour)
    usleep(200_000)
    entry = try cached()
    #expect(entry.contains(controlMAC), "the control GARP did not reach cl: \(entry)")
    try Harness.exec(lab, "cl", "ip", "neigh", "del", neighbour, "dev", "eth0")

    // (c) The host's own traffic.
    let ping = try Harness.exec(lab, "ig", "ping", "-c", "2", "-i", "0.2", "-W", "2", neighbour)
    #expect(ping.status == 0, "ig's own traffic must pass: \(ping.output)")
    let drops = Harness.drops("core/ig", in: try Harness.status(lab))
    #expect(
      drops["ip-guard"] == before + 6, "3 spoofed echoes and 3 ARPs, besides \(before): \(drops)")
    #expect(drops.count == 1, "core/ig: \(drops)")
  }

  /// `dhcp-guard: true`: a rogue DHCP server (busybox udhcpd) on the guarded
  /// port leases nothing to a client on the switch (busybox udhcpc), and each
  /// OFFER it sends is a `dhcp-guard` drop; the same server on the control
  /// port does lease an address.
  static func dhcpGuard() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-e2e-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let configuration = directory.appendingPathComponent("udhcpd.conf").path
    try """
    start 10.0.9.200
    end 10.0.9.210
    interface eth0
    lease_file \(directory.path)/leases
    option subnet 255.255.255.0

    """.write(toFile: configuration, atomically: true, encoding: .utf8)
    // -s /bin/true: report the lease, do not configure it; -t 3 -T 1: three
    // DISCOVERs a second apart, then give up.
    let client = [
      "busybox", "udhcpc", "-f", "-n", "-q", "-t", "3", "-T", "1", "-i", "eth0", "-s", "/bin/true",
    ]

    var outcomes: [String: (lease: Bool, offers: Int, output: String)] = [:]
    for server in ["dg", "dc"] {
      let rogue = try Background(
        "/usr/sbin/ip",
        ["netns", "exec", "\(lab)-\(server)", "busybox", "udhcpd", "-f", configuration])
      usleep(500_000)  // udhcpd listening
      let lease = try Harness.exec(lab, "cl", client, timeout: 15)
      let log = rogue.finish(signal: SIGKILL).errors
      let offers = log.components(separatedBy: "sending OFFER").count - 1
      outcomes[server] = (lease.status == 0, offers, lease.output + lease.errors + log)
    }
    let guarded = try #require(outcomes["dg"])
    let control = try #require(outcomes["dc"])
    #expect(!guarded.lease, "a lease from the guarded rogue: \(guarded.output)")
    #expect(guarded.offers >= 1, "the rogue must have answered: \(guarded.output)")
    #expect(control.lease, "no lease from the unguarded server: \(control.output)")
    let status = try Harness.status(lab)
    #expect(Harness.drops("core/dg", in: status) == ["dhcp-guard": guarded.offers])
    #expect(Harness.drops("core/dc", in: status)["dhcp-guard"] == nil)
  }

  /// `protected: true` on p1 and p2: both reach the unprotected neighbour;
  /// they cannot reach each other. Broadcasts from one (its ARP requests) are
  /// simply not delivered to the other, so ARP gets no reply; unicast from
  /// one to the other (p1 given p2's MAC by hand) is dropped as `protected`,
  /// one per echo request. p2 never sees a frame from p1.
  static func protectedPorts(_ status: [String: Any]) throws {
    let p1MAC = try Harness.mac(of: "p1", in: status)
    let p2MAC = try Harness.mac(of: "p2", in: status)
    let capture = try Capture(namespace: "\(lab)-p2", filter: ["ether", "src", p1MAC])
    for host in ["p1", "p2"] {
      let ping = try Harness.exec(lab, host, "ping", "-c", "1", "-W", "2", neighbour)
      #expect(ping.status == 0, "\(host) -> nb: \(ping.output)")
    }
    let blocked = try Harness.exec(lab, "p1", "ping", "-c", "2", "-i", "0.2", "-W", "1", "10.0.9.7")
    #expect(blocked.status != 0, "p1 reached p2: \(blocked.output)")
    let entry = try Harness.exec(lab, "p1", "ip", "neigh", "show", "10.0.9.7").output
    #expect(!entry.contains("lladdr"), "p1 got an ARP reply from p2: \(entry)")
    let dropsBefore = Harness.drops("core/p1", in: try Harness.status(lab))["protected"] ?? 0
    // Deleted first: the unresolved entry still holds the echo requests of
    // the ping above, and filling it in would send them (two more drops).
    try Harness.exec(lab, "p1", "ip", "neigh", "del", "10.0.9.7", "dev", "eth0")
    try Harness.exec(
      lab, "p1", "ip", "neigh", "add", "10.0.9.7", "lladdr", p2MAC, "nud", "permanent", "dev",
      "eth0")
    let unicast = try Harness.exec(
      lab, "p1", "ping", "-c", "3", "-i", "0.2", "-W", "1", "10.0.9.7")
    #expect(unicast.status != 0, "p1 reached p2 by unicast: \(unicast.output)")
    let frames = try capture.stop()
    #expect(frames.isEmpty, "p2 received \(frames.count) frames from p1")
    let drops = Harness.drops("core/p1", in: try Harness.status(lab))
    #expect(dropsBefore == 0, "broadcasts are not delivered, not dropped: \(dropsBefore)")
    #expect(drops["protected"] == 3, "one drop per unicast echo request: \(drops)")
  }
}
