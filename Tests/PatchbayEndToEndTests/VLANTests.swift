import Foundation
import Testing

/// VLANs end to end: access and trunk ports across two switches joined by a
/// patch cable, and a QinQ tunnel through them.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct VLANTests {
  static let twoSwitches = """
    name: e2vlan
    switches:
      core:
        ports:
          web1: {vlan: 10}
          same10: {vlan: 10}
          same20: {vlan: 20}
          ops: {trunk: [20, 30]}
          isl: {peer: dist/isl, trunk: all}
      dist:
        ports:
          web2: {vlan: 10}
          db2: {vlan: 20}
          isl: {peer: core/isl, trunk: all}
    hosts:
      web1: {port: core/web1, address: 10.10.0.1/24}
      web2: {port: dist/web2, address: 10.10.0.2/24}
      db2: {port: dist/db2, address: 10.20.0.2/24}
      same10: {port: core/same10, address: 10.9.0.1/24}
      same20: {port: core/same20, address: 10.9.0.2/24}
      ops: {port: core/ops}
    """

  @Test func trunkHostReachesVLAN20OnTheOtherSwitchAndNeverSeesVLAN10() throws {
    let lab = "e2vlan"
    try Harness.withLab(Self.twoSwitches, named: lab) { _ in
      let opsCapture = try Capture(namespace: "\(lab)-ops")
      // VLAN 10 makes noise on both switches: broadcast pings and ARP.
      let broadcast = try Harness.exec(
        lab, "web1", "ping", "-b", "-c", "3", "-i", "0.2", "-W", "1", "10.10.0.255")
      #expect(broadcast.status == 0 || broadcast.status == 1)
      #expect(try Harness.exec(lab, "web1", "ping", "-c", "2", "-W", "2", "10.10.0.2").status == 0)

      // ops, on a trunk allowing 20 and 30, talks VLAN 20 to db2 behind the other switch:
      // through a kernel VLAN interface where the kernel has 802.1Q, else through the
      // tagging peer, which puts the same frames on the wire.
      let vlanInterface = try Harness.exec(
        lab, "ops", "ip", "link", "add", "link", "eth0", "name", "eth0.20", "type", "vlan", "id",
        "20")
      if vlanInterface.status == 0 {
        try Harness.exec(lab, "ops", "ip", "addr", "add", "10.20.0.100/24", "dev", "eth0.20")
        try Harness.exec(lab, "ops", "ip", "link", "set", "eth0.20", "up")
        let ping = try Harness.exec(lab, "ops", "ping", "-c", "2", "-W", "2", "10.20.0.2")
        #expect(ping.status == 0, "\(ping.output)\(ping.errors)")
      } else {
        FileHandle.standardError.write(
          Data(
            "note: this kernel has no 802.1Q (\(vlanInterface.errors.trimmingCharacters(in: .whitespacesAndNewlines))); the trunk host uses the tagging peer\n"
              .utf8))
        let ping = try Harness.exec(
          lab, "ops", "python3", "-c", TaggedPeer.ping, "eth0", "20", "10.20.0.100", "10.20.0.2")
        #expect(ping.status == 0, "\(ping.output)\(ping.errors)")
        #expect(ping.output.contains("echo reply vlan 20"), "\(ping.output)")
      }

      let frames = try opsCapture.stop()
      let web1 = try #require(
        Harness.fdb(lab).first { $0["port"] as? String == "web1" }?["mac"] as? String)
      let web1Bytes = web1.replacingOccurrences(of: ":", with: "")
      // Nothing of VLAN 10 reached the trunk: no frame tagged 10, and no frame from web1.
      for frame in frames {
        let tagged10 =
          frame.count >= 16 && frame[12] == 0x81 && frame[13] == 0x00
          && (Int(frame[14] & 0x0F) << 8 | Int(frame[15])) == 10
        #expect(!tagged10, "VLAN 10 frame on the VLAN 20/30 trunk: \(frame.hex)")
        #expect(
          !Array(frame[6..<12]).hex.hasPrefix(web1Bytes), "web1's frame reached ops: \(frame.hex)")
      }
      // What ops did receive from db2 came tagged 20.
      let fromSwitch = frames.filter { $0.count >= 16 && $0[12] == 0x81 && $0[13] == 0x00 }
      #expect(
        fromSwitch.contains { (Int($0[14] & 0x0F) << 8 | Int($0[15])) == 20 },
        "\(frames.map(\.hex))")

      // The MAC tables hold each host in its own VLAN, on both switches.
      let table = try Harness.fdb(lab)
      let db2 = try #require(table.first { $0["port"] as? String == "db2" })
      #expect(db2["vlan"] as? Int == 20)
      #expect(
        table.contains {
          $0["switchName"] as? String == "core" && $0["mac"] as? String == db2["mac"] as? String
            && $0["port"] as? String == "isl" && $0["vlan"] as? Int == 20
        })

      let status = try Harness.status(lab)
      #expect(Harness.port("core/ops", in: status)?["vlanMode"] as? String == "trunk 20,30")
      #expect(Harness.port("core/isl", in: status)?["kind"] as? String == "peer")
      #expect(Harness.port("dist/db2", in: status)?["vlanMode"] as? String == "access 20")
    }
  }

  @Test func oneSubnetInTwoVLANsCannotTalk() throws {
    let lab = "e2vlan"
    try Harness.withLab(Self.twoSwitches, named: lab) { _ in
      let ping = try Harness.exec(lab, "same10", "ping", "-c", "2", "-W", "1", "10.9.0.2")
      #expect(ping.status != 0, "VLAN 10 reached VLAN 20: \(ping.output)")
      // Each learned in its own VLAN; neither in the other's.
      let table = try Harness.fdb(lab)
      let same10 = table.filter { $0["port"] as? String == "same10" }
      #expect(same10.count == 1 && same10.first?["vlan"] as? Int == 10, "\(same10)")
      #expect(!table.contains { $0["port"] as? String == "same20" && $0["vlan"] as? Int == 10 })
      // A tagged frame from an access port is dropped and counted (no VLAN hopping).
      let hop =
        "ffffffffffff" + "020000000a01" + "8100" + "0014" + "0806"
        + String(repeating: "00", count: 28)
      let sent = try Harness.exec(lab, "same10", "python3", "-c", TaggedPeer.send, "eth0", hop)
      #expect(sent.status == 0, "\(sent.errors)")
      let drops =
        Harness.port("core/same10", in: try Harness.status(lab))?["drops"] as? [String: Int]
      #expect(drops?["tagged-on-access"] == 1, "\(String(describing: drops))")
    }
  }

  @Test func qinqTunnelCarriesCustomerVLANsAcrossTaggedAsSent() throws {
    let lab = "e2qinq"
    let yaml = """
      name: \(lab)
      switches:
        edge1:
          ports:
            cust: {dot1q-tunnel: 300}
            mon: {trunk: [300]}
            isl: {peer: edge2/isl, trunk: [300]}
        edge2:
          ports:
            cust2: {dot1q-tunnel: 300}
            other: {dot1q-tunnel: 301}
            isl: {peer: edge1/isl, trunk: [300, 301]}
      hosts:
        c1: {port: edge1/cust}
        c2: {port: edge2/cust2}
        c3: {port: edge2/other}
        mon: {port: edge1/mon}
      """
    try Harness.withLab(yaml, named: lab) { _ in
      let atMon = try Capture(
        namespace: "\(lab)-mon", filter: ["ether", "src", "02:00:00:00:01:00"])
      let atC3 = try Capture(namespace: "\(lab)-c3", filter: ["ether", "src", "02:00:00:00:01:00"])
      let atC2 = try Capture(namespace: "\(lab)-c2", filter: ["ether", "src", "02:00:00:00:01:00"])
      // The customer's frames: VLAN 100 (PCP 3) and VLAN 200 (PCP 0), and one untagged.
      let payload = Array("patchbay qinq test frame ".utf8) + [UInt8](repeating: 0x5A, count: 21)
      let customer: [[UInt8]] = [
        [
          0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0, 0, 0, 0x01, 0, 0x81, 0x00, 0x60, 0x64, 0x88,
          0xB5,
        ] + payload,
        [
          0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0, 0, 0, 0x01, 0, 0x81, 0x00, 0x00, 0xC8, 0x88,
          0xB5,
        ] + payload,
        [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0, 0, 0, 0x01, 0, 0x88, 0xB5] + payload,
      ]
      let sent = try Harness.exec(
        lab, "c1", "python3", "-c", TaggedPeer.send, "eth0", customer[0].hex, customer[1].hex,
        customer[2].hex)
      #expect(sent.status == 0, "\(sent.errors)")

      // Delivered at the far customer port exactly as sent, customer tags intact. (In any
      // order: the three are three flows to the kernel, which may give them to different
      // datapath threads; each flow's own frames keep their order.)
      let delivered = try atC2.stop()
      #expect(delivered.map(\.hex).sorted() == customer.map(\.hex).sorted())
      // Never delivered into another customer's tunnel.
      #expect(try atC3.stop().isEmpty)
      // On the trunk they travel inside service VLAN 300 with an 802.1ad outer tag.
      let onTrunk = try atMon.stop()
      let outer: [UInt8] = [0x88, 0xA8, 0x61, 0x2C]  // 0x88a8, PCP 3, VLAN 300
      let outerPlain: [UInt8] = [0x88, 0xA8, 0x01, 0x2C]  // 0x88a8, PCP 0, VLAN 300
      let expectedOnTrunk = [
        Array(customer[0][0..<12]) + outer + Array(customer[0][12...]),
        Array(customer[1][0..<12]) + outerPlain + Array(customer[1][12...]),
        Array(customer[2][0..<12]) + outerPlain + Array(customer[2][12...]),
      ]
      #expect(onTrunk.map(\.hex).sorted() == expectedOnTrunk.map(\.hex).sorted())
      let table = try Harness.fdb(lab)
      #expect(
        table.contains {
          $0["mac"] as? String == "02:00:00:00:01:00" && $0["vlan"] as? Int == 300
            && $0["switchName"] as? String == "edge2"
        })
    }
  }
}
