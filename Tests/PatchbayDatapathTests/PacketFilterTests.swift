import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// tcpdump expressions compiled by libpcap and run on frame bytes.
@Suite struct PacketFilterTests {
  /// An Ethernet + IPv4 frame with protocol `ipProtocol` and, for TCP/UDP, destination port `port`.
  func frame(ipProtocol: UInt8, port: UInt16 = 0, vlan: UInt16? = nil) -> [UInt8] {
    var ip: [UInt8] = [
      0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, ipProtocol, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]
    ip += [0x30, 0x39, UInt8(port >> 8), UInt8(port & 0xFF)] + [UInt8](repeating: 0, count: 16)
    let header = EthernetHeader(
      destination: MACAddress(2, 0, 0, 0, 0, 2), source: MACAddress(2, 0, 0, 0, 0, 1),
      tag: vlan.map { VLANTag(protocolID: .vlan, controlInformation: $0) }, payloadType: .ipv4)
    return header.emit(payload: ip)
  }

  func matches(_ filter: PacketFilter, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { filter.matches($0) }
  }

  @Test func keepsExactlyWhatTheExpressionSays() throws {
    let web = try PacketFilter("tcp port 80")
    #expect(matches(web, frame(ipProtocol: 6, port: 80)))
    #expect(!matches(web, frame(ipProtocol: 6, port: 81)))
    #expect(!matches(web, frame(ipProtocol: 17, port: 80)))
    let icmp = try PacketFilter("icmp")
    #expect(matches(icmp, frame(ipProtocol: 1)))
    #expect(!matches(icmp, frame(ipProtocol: 6, port: 80)))
    let tagged = try PacketFilter("vlan 10 and udp")
    #expect(matches(tagged, frame(ipProtocol: 17, port: 53, vlan: 10)))
    #expect(!matches(tagged, frame(ipProtocol: 17, port: 53, vlan: 20)))
    #expect(!matches(tagged, frame(ipProtocol: 17, port: 53)))
  }

  @Test func anEmptyExpressionKeepsEverything() throws {
    let all = try PacketFilter("")
    #expect(matches(all, frame(ipProtocol: 6, port: 22)))
    #expect(matches(all, [UInt8](repeating: 0, count: 14)))
  }

  @Test func aMistakeIsOneLineInLibpcapsWords() {
    for expression in ["tcp prot 80", "port 99999", "host"] {
      #expect {
        _ = try PacketFilter(expression)
      } throws: { error in
        let text = (error as? CaptureError)?.description ?? ""
        return text.hasPrefix("invalid filter '\(expression)': ") && !text.contains("\n")
          && text.count > "invalid filter '\(expression)': ".count
      }
    }
  }
}
