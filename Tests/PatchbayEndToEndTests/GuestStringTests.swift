import Foundation
import Testing

/// Strings a guest chooses reach the terminal escaped: a DHCP host name with
/// a terminal escape sequence (ESC [ 2 J clears the screen) in `patchbay nat`.
@Suite(.enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct GuestStringTests {
  static let lab = "e2ct5"

  /// A NAT uplink with a DHCP server, and a host that asks it for a lease by hand.
  static let topology = """
    name: \(lab)
    switches:
      core:
        ports:
          h1: {}
          gw: {uplink: wan}
    hosts:
      h1: {port: core/h1}
      up: {veth: \(lab)-wan, address: 198.18.14.1/24}
    uplinks:
      wan:
        mode: nat
        interface: \(lab)-wan
        address: 198.18.14.10/24
        gateway: 198.18.14.1
        inside: 10.0.14.254/24
        dhcp: {range: 10.0.14.100-10.0.14.110, lease: 1h}
    """

  @Test func aHostNameWithAnEscapeSequenceIsPrintedEscaped() throws {
    try Harness.withLab(Self.topology, named: Self.lab) { _ in
      let hostile = "evil\u{1B}[2J\u{1B}]0;owned\u{07}pc"
      // udhcpc sends the name as option 12; -s /bin/true leaves eth0 as it is.
      let dhcp = try Harness.exec(
        Self.lab, "h1", "busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "5", "-T",
        "1", "-s", "/bin/true", "-x", "hostname:\(hostile)")
      try #require(dhcp.status == 0, "udhcpc: \(dhcp.output) \(dhcp.errors)")

      let text = try Harness.patchbay("nat", Self.lab)
      #expect(text.status == 0, "\(text.errors)")
      #expect(!text.output.utf8.contains(0x1B), "raw ESC in: \(text.output.debugDescription)")
      #expect(!text.output.utf8.contains(0x07), "raw BEL in: \(text.output.debugDescription)")
      #expect(
        text.output.contains("evil\\x1B[2J\\x1B]0;owned\\x07pc"), "\(text.output.debugDescription)")

      let json = try Harness.patchbay("nat", Self.lab, "--json")
      #expect(json.status == 0, "\(json.errors)")
      #expect(!json.output.utf8.contains(0x1B))
      let uplinks = try #require(
        JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]])
      let leases = uplinks.first?["leases"] as? [[String: Any]] ?? []
      // JSON keeps the name exactly as the guest sent it, escaped only in the text.
      #expect(leases.contains { $0["hostName"] as? String == hostile }, "\(leases)")
    }
  }
}
