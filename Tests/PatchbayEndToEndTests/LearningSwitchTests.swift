import Foundation
import Testing

/// A learning switch between real TAP ports and namespace hosts.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct LearningSwitchTests {
  @Test func threeHostsPingEachOtherAndAreLearnedOnTheirOwnPorts() throws {
    let lab = "e2ping"
    try Harness.withLab(Harness.threeHosts(lab), named: lab) { _ in
      let addresses = ["h1": "10.0.0.1", "h2": "10.0.0.2", "h3": "10.0.0.3"]
      for (from, _) in addresses.sorted(by: { $0.key < $1.key }) {
        for (to, address) in addresses.sorted(by: { $0.key < $1.key }) where to != from {
          let ping = try Harness.exec(lab, from, "ping", "-c", "1", "-W", "2", address)
          #expect(ping.status == 0, "\(from) -> \(to): \(ping.output)\(ping.errors)")
        }
      }
      let status = try Harness.status(lab)
      let hosts = try #require(status["hosts"] as? [[String: Any]])
      let table = try Harness.fdb(lab)
      for host in hosts {
        let mac = try #require(host["mac"] as? String)
        let port = try #require(host["port"] as? String)
        let rows = table.filter { $0["mac"] as? String == mac }
        #expect(rows.count == 1, "\(mac) should appear once: \(rows)")
        #expect(rows.first?["port"] as? String == port.split(separator: "/").last.map(String.init))
        #expect(rows.first?["type"] as? String == "learned")
        #expect(rows.first?["vlan"] as? Int == 1)
      }
      // Every ping went through the switch: each port received and sent frames.
      for name in ["core/h1", "core/h2", "core/h3"] {
        let port = try #require(Harness.port(name, in: status))
        #expect((port["rxPackets"] as? Int ?? 0) >= 4, "\(name): \(port)")
        #expect((port["txPackets"] as? Int ?? 0) >= 4, "\(name): \(port)")
        #expect(port["state"] as? String == "up")
      }
    }
  }

  @Test func unknownUnicastIsFloodedAndLearnedTrafficIsNot() throws {
    let lab = "e2flood"
    try Harness.withLab(Harness.threeHosts(lab), named: lab) { _ in
      let capture = FileManager.default.temporaryDirectory
        .appendingPathComponent("patchbay-\(UUID().uuidString).pcap").path
      defer { try? FileManager.default.removeItem(atPath: capture) }
      // tcpdump in h3 records every ICMP frame h3's port is sent.
      let tcpdump = Process()
      tcpdump.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
      tcpdump.arguments = [
        "netns", "exec", "\(lab)-h3", "tcpdump", "-i", "eth0", "-n", "--immediate-mode", "-U", "-w",
        capture, "icmp",
      ]
      tcpdump.standardOutput = FileHandle.nullDevice
      tcpdump.standardError = FileHandle.nullDevice
      try tcpdump.run()
      // SIGKILL, not SIGINT: a child spawned from a dispatch thread may have
      // SIGINT blocked; -U has written every packet to the file already.
      defer {
        if tcpdump.isRunning {
          kill(tcpdump.processIdentifier, SIGKILL)
          tcpdump.waitUntilExit()
        }
      }
      // Wait until tcpdump has opened its capture (the file appears).
      for _ in 0..<100 where !FileManager.default.fileExists(atPath: capture) { usleep(50_000) }
      usleep(300_000)

      // Unknown unicast: a MAC no port has ever sent from.
      try Harness.exec(
        lab, "h1", "ip", "neigh", "replace", "10.0.0.99", "lladdr", "02:00:00:00:00:99", "dev",
        "eth0")
      let lost = try Harness.exec(lab, "h1", "ping", "-c", "3", "-i", "0.2", "-W", "1", "10.0.0.99")
      #expect(lost.status != 0, "nobody has 10.0.0.99, the ping must fail")
      // Learned unicast: h1 and h2 know each other after ARP.
      let ping = try Harness.exec(lab, "h1", "ping", "-c", "5", "-i", "0.2", "10.0.0.2")
      #expect(ping.status == 0, "\(ping.output)")
      usleep(500_000)
      kill(tcpdump.processIdentifier, SIGKILL)
      tcpdump.waitUntilExit()

      let read = try Harness.run("/usr/bin/env", ["tcpdump", "-n", "-r", capture])
      let lines = read.output.split(separator: "\n")
      let flooded = lines.filter { $0.contains("10.0.0.1 > 10.0.0.99") }
      let learned = lines.filter {
        $0.contains("10.0.0.1 > 10.0.0.2") || $0.contains("10.0.0.2 > 10.0.0.1")
      }
      #expect(flooded.count == 3, "h3 must see the 3 unknown-unicast echoes: \(read.output)")
      #expect(learned.isEmpty, "h3 must not see h1<->h2 traffic: \(learned)")

      let status = try Harness.status(lab)
      let h1 = try #require(Harness.port("core/h1", in: status))
      #expect((h1["flooded"] as? Int ?? 0) >= 3)
    }
  }

  @Test func malformedFramesAreCountedAndDroppedWhileOthersKeepTalking() throws {
    let lab = "e2bad"
    try Harness.withLab(Harness.threeHosts(lab), named: lab) { _ in
      // From h1, through a packet socket: 5 frames with a multicast source
      // address, and 3 frames whose 802.1Q tag is cut short (15 bytes).
      let script = """
        import socket
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind(("eth0", 0))
        for i in range(5):
            s.send(bytes.fromhex("ffffffffffff" "030000000001" "0800") + bytes(46))
        for i in range(3):
            s.send(bytes.fromhex("ffffffffffff" "020000000001" "8100" "00"))
        """
      let sent = try Harness.exec(lab, "h1", "python3", "-c", script)
      #expect(sent.status == 0, "\(sent.errors)")
      let ping = try Harness.exec(lab, "h2", "ping", "-c", "3", "-i", "0.2", "10.0.0.3")
      #expect(ping.status == 0, "\(ping.output)")

      let status = try Harness.status(lab)
      let h1 = try #require(Harness.port("core/h1", in: status))
      let drops = try #require(h1["drops"] as? [String: Int])
      #expect(drops["invalid-source"] == 5, "\(drops)")
      #expect(drops["runt"] == 3, "\(drops)")
      // None of the bad frames reached another port's host.
      let table = try Harness.fdb(lab)
      #expect(!table.contains { $0["mac"] as? String == "02:00:00:00:00:01" })
    }
  }
}
