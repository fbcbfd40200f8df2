import Foundation
import Testing

/// Mirrors (SPAN) and the topology's own captures, end to end.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct MirrorTests {
  static let lab = "e2mir"

  /// h1–h3 talk; `span` copies h1's traffic to host m's port, `icmp-only`
  /// copies h3's ICMP to the `mon2` port (no host), and the `web` capture
  /// writes h2's ICMP to a file from the moment the lab is up.
  static func topology(captureFile: String) -> String {
    """
    name: \(lab)
    switches:
      core:
        ports:
          h1: {}
          h2: {}
          h3: {}
          mon: {}
          mon2: {}
    hosts:
      h1: {port: core/h1, address: 10.0.7.1/24}
      h2: {port: core/h2, address: 10.0.7.2/24}
      h3: {port: core/h3, address: 10.0.7.3/24}
      m: {port: core/mon, address: 10.0.7.9/24}
    mirrors:
      span:
        from: [core/h1]
        to: core/mon
      icmp-only:
        from: [core/h3]
        to: core/mon2
        filter: icmp
    captures:
      web:
        ports: [core/h2]
        file: \(captureFile)
        filter: icmp
    """
  }

  @Test func theMonitorPortReceivesBothDirectionsOfItsSourcesOnly() throws {
    let directory = try CaptureTests.directory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let topologyCapture = directory.appendingPathComponent("web.pcapng").path
    try Harness.withLab(Self.topology(captureFile: topologyCapture), named: Self.lab) { _ in
      // tcpdump inside the monitor host: what really arrives on its NIC.
      let seen = directory.appendingPathComponent("monitor.pcap").path
      let tcpdump = try Background(
        "/usr/sbin/ip",
        [
          "netns", "exec", "\(Self.lab)-m", "tcpdump", "-i", "eth0", "--immediate-mode", "-U", "-n",
          "-w", seen,
        ],
        unblockingSignals: true)
      let deadline = Date().addingTimeInterval(10)
      while Date() < deadline
        && ((try? FileManager.default.attributesOfItem(atPath: seen)[.size] as? Int) ?? 0) == 0
      {
        usleep(10_000)
      }
      // The other monitor port, captured: copies sent to it show as "out".
      let copies = directory.appendingPathComponent("mon2.pcapng").path
      let capture = try CaptureTests.startCapture(
        ["core/mon2", "--direction", "out"], file: copies, lab: Self.lab)
      // Mirrored: h1 <-> h2. Not mirrored: h2 <-> h3's unicast.
      try Harness.exec(Self.lab, "h1", "ping", "-c", "2", "-i", "0.2", "10.0.7.2")
      try Harness.exec(Self.lab, "h2", "ping", "-c", "2", "-i", "0.2", "10.0.7.3")
      usleep(300_000)
      _ = tcpdump.finish()
      _ = capture.finish()
      let echoes = try CaptureTests.tshark(
        seen, ["ip.src", "ip.dst", "icmp.type"], filter: "icmp")
      #expect(
        echoes == [
          ["10.0.7.1", "10.0.7.2", "8"], ["10.0.7.2", "10.0.7.1", "0"],
          ["10.0.7.1", "10.0.7.2", "8"], ["10.0.7.2", "10.0.7.1", "0"],
        ])
      // h3's mirror keeps ICMP only: its two replies to h2 and h2's two requests.
      let filtered = try CaptureTests.tshark(
        copies, ["frame.packet_flags_direction", "ip.src", "icmp.type"])
      #expect(
        filtered == [
          ["0x00000002", "10.0.7.2", "8"], ["0x00000002", "10.0.7.3", "0"],
          ["0x00000002", "10.0.7.2", "8"], ["0x00000002", "10.0.7.3", "0"],
        ])
      // The monitor host's own frames go nowhere, counted; status says what the port is.
      let status = try Harness.status(Self.lab)
      let monitor = try #require(Harness.port("core/mon", in: status))
      #expect(monitor["vlanMode"] as? String == "monitor (mirror span)")
      let h2 = try #require(Harness.port("core/h2", in: status))
      #expect((h2["drops"] as? [String: Int] ?? [:]).isEmpty)
      let ping = try Harness.exec(Self.lab, "m", "ping", "-c", "1", "-W", "1", "10.0.7.1")
      #expect(ping.status != 0)
      let after = try #require(Harness.port("core/mon", in: try Harness.status(Self.lab)))
      #expect(((after["drops"] as? [String: Int])?["monitor-port"] ?? 0) > 0)
      // The topology's capture runs from `up`...
      #expect(FileManager.default.fileExists(atPath: topologyCapture))
      try Harness.exec(Self.lab, "h1", "ping", "-c", "1", "10.0.7.2")
      // ...and is complete once the lab is down, last frame included.
      let down = try Harness.patchbay("down", Self.lab)
      #expect(down.status == 0, "\(down.errors)")
    }
    let frames = try CaptureTests.tshark(
      topologyCapture, ["frame.interface_name", "frame.packet_flags_direction", "icmp.type"])
    // h1's 2 pings and h2's 2 to h3, then h1's last one, each request and reply.
    #expect(frames.count == 10)
    #expect(frames.allSatisfy { $0[0] == "core/h2" })
    #expect(
      frames.suffix(2) == [["core/h2", "0x00000002", "8"], ["core/h2", "0x00000001", "0"]])
    #expect(try CaptureTests.tcpdumpCount(topologyCapture) == 10)
  }

  @Test func aBadFilterInTheTopologyIsAnErrorAtItsPlace() throws {
    let file = try Harness.topologyFile(
      Self.topology(captureFile: "x.pcapng").replacingOccurrences(
        of: "filter: icmp\ncaptures", with: "filter: icmpp\ncaptures"), name: "bad")
    defer { Harness.forceClean(Self.lab) }
    let result = try Harness.patchbay("validate", file)
    #expect(result.status == 1)
    let lines = result.errors.split(separator: "\n")
    #expect(lines.count == 1, "\(result.errors)")
    #expect(lines.first?.hasPrefix("\(file):22:13: error: invalid filter 'icmpp': ") == true)
    let up = try Harness.patchbay("up", file, "--detach")
    #expect(up.status == 1 && Harness.leftovers(of: Self.lab).isEmpty)
  }
}
