import Foundation
import Testing

/// A namespace host that vanishes (its namespace deleted under the lab, as a
/// crashed VM's TAP would vanish) takes its own port down, counted, and
/// nothing else: the other hosts keep talking and their ports stay up.
@Suite(.enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct HostDisappearanceTests {
  static let lab = "e2gone"
  static let topology = """
    name: \(lab)
    switches:
      core:
        ports:
          a: {}
          b: {}
          c: {}
    hosts:
      h1: {port: core/a, address: 10.0.42.1/24}
      h2: {port: core/b, address: 10.0.42.2/24}
      h3: {port: core/c, address: 10.0.42.3/24}
    """

  @Test func aDeletedNamespaceTakesOnlyItsPortDown() throws {
    try Harness.withLab(Self.topology, named: Self.lab) { _ in
      let ping = try Harness.exec(Self.lab, "h1", "ping", "-c", "1", "-W", "2", "10.0.42.3")
      #expect(ping.status == 0, "\(ping.output)")
      // Deleting the namespace destroys the TAP inside it; the switch's read
      // of that TAP fails and the port goes down.
      try Harness.ip("netns", "del", "\(Self.lab)-h3")
      var state: String?
      for _ in 0..<50 {
        state = Harness.port("core/c", in: try Harness.status(Self.lab))?["state"] as? String
        if state == "down" { break }
        usleep(100_000)
      }
      #expect(state == "down")
      let status = try Harness.status(Self.lab)
      #expect(Harness.port("core/c", in: status)?["linkDowns"] as? Int == 1)
      for other in ["core/a", "core/b"] {
        #expect(Harness.port(other, in: status)?["state"] as? String == "up", "\(other)")
        #expect(Harness.port(other, in: status)?["linkDowns"] as? Int == 0, "\(other)")
      }
      let stillTalking = try Harness.exec(
        Self.lab, "h1", "ping", "-c", "20", "-i", "0.05", "-W", "2", "10.0.42.2")
      #expect(stillTalking.status == 0, "\(stillTalking.output)")
      #expect(stillTalking.output.contains(" 0% packet loss"), "\(stillTalking.output)")
      // The vanished host's address is forgotten with its port.
      let entries = try Harness.fdb(Self.lab)
      #expect(!entries.contains { $0["port"] as? String == "c" }, "\(entries)")
      #expect(entries.contains { $0["port"] as? String == "a" }, "\(entries)")
    }
  }
}
