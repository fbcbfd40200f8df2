import Foundation
import Testing

/// Bridged and host-only uplinks. The "physical network" is a namespace the
/// test makes itself, joined to the root namespace by a veth pair; nothing is
/// sent anywhere else.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct BridgedAndHostOnlyUplinkTests {
  /// (Not named after the lab: `withLab` clears everything named `LAB-*` first.)
  /// A namespace `name` whose `eth0` pairs with `root` in the root namespace,
  /// with `address` on `eth0`; `rootAddress` goes on the root end when given.
  static func makeUpstream(_ name: String, root: String, address: String, rootAddress: String?)
    throws
  {
    removeUpstream(name, root: root)
    try Harness.ip("netns", "add", name)
    try Harness.ip("link", "add", root, "type", "veth", "peer", "name", "eth0", "netns", name)
    try Harness.ip("-n", name, "addr", "add", address, "dev", "eth0")
    try Harness.ip("-n", name, "link", "set", "eth0", "up")
    try Harness.ip("-n", name, "link", "set", "lo", "up")
    if let rootAddress { try Harness.ip("addr", "add", rootAddress, "dev", root) }
    try Harness.ip("link", "set", root, "up")
  }

  static func removeUpstream(_ name: String, root: String) {
    _ = try? Harness.ip("link", "del", root)
    _ = try? Harness.ip("netns", "del", name)
  }

  @Test func aBridgedUplinkPutsLabHostsOnTheUpstreamNetworkWithTheirOwnMACs() throws {
    let lab = "e2brg"
    let upstream = "e2up-brg"
    try Self.makeUpstream(upstream, root: "e2brgphys", address: "10.0.9.100/24", rootAddress: nil)
    defer { Self.removeUpstream(upstream, root: "e2brgphys") }
    let yaml = """
      name: \(lab)
      switches:
        core:
          ports:
            h1: {}
            lan: {uplink: office}
      hosts:
        h1: {port: core/h1, address: 10.0.9.1/24, mac: "02:00:00:00:09:01"}
      uplinks:
        office: {mode: bridge, interface: e2brgphys}
      """
    try Harness.withLab(yaml, named: lab) { _ in
      let ping = try Harness.run(
        "/usr/sbin/ip", ["netns", "exec", upstream, "ping", "-c", "2", "-W", "2", "10.0.9.1"])
      #expect(ping.status == 0, "upstream could not ping the lab host: \(ping.output)")
      let neighbours = try Harness.ip("-n", upstream, "neigh", "show", "10.0.9.1").output
      #expect(neighbours.contains("02:00:00:00:09:01"), "upstream's ARP entry: \(neighbours)")
      let nat = try Harness.patchbay("nat", lab)
      #expect(nat.output.contains("bridge"), "\(nat.output)")
    }
  }

  @Test func aHostOnlyUplinkReachesTheHostAndNothingBeyondIt() throws {
    let lab = "e2ho"
    let upstream = "e2up-ho"
    // Another network the host is on: a host-only lab must never reach it,
    // even when this machine forwards IP between its other interfaces.
    try Self.makeUpstream(
      upstream, root: "e2hoother", address: "198.18.9.2/24", rootAddress: "198.18.9.1/24")
    defer { Self.removeUpstream(upstream, root: "e2hoother") }
    try Harness.ip("-n", upstream, "route", "add", "10.0.10.0/24", "via", "198.18.9.1")
    let yaml = """
      name: \(lab)
      switches:
        core:
          ports:
            h1: {}
            host: {uplink: hostnet}
      hosts:
        h1: {port: core/h1, address: 10.0.10.1/24, gateway: 10.0.10.254}
      uplinks:
        hostnet: {mode: host-only, inside: 10.0.10.254/24}
      """
    try Harness.withLab(yaml, named: lab) { _ in
      let interface = try Harness.ip("-4", "-o", "addr", "show", "dev", "e2ho-hostnet").output
      #expect(interface.contains("10.0.10.254/24"), "host-side interface: \(interface)")
      let fromHost = try Harness.run("/usr/bin/ping", ["-c", "2", "-W", "2", "10.0.10.1"])
      #expect(fromHost.status == 0, "the host could not ping the lab host: \(fromHost.output)")
      let fromLab = try Harness.exec(lab, "h1", "ping", "-c", "2", "-W", "2", "10.0.10.254")
      #expect(fromLab.status == 0, "the lab host could not ping the host: \(fromLab.output)")
      let forwarding = try String(
        contentsOfFile: "/proc/sys/net/ipv4/conf/e2ho-hostnet/forwarding", encoding: .utf8)
      #expect(forwarding.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
      let capture = try Capture(namespace: upstream, filter: ["icmp"])
      let escape = try Harness.exec(lab, "h1", "ping", "-c", "2", "-W", "1", "198.18.9.2")
      #expect(escape.status != 0, "a host-only lab reached another network")
      let seen = UplinkTests.addresses(try capture.stop())
      #expect(seen.isEmpty, "the other network saw lab traffic: \(seen)")
    }
  }
}
