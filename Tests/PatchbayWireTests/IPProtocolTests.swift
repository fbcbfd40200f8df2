import PatchbayWire
import Testing

struct IPProtocolTests {
  @Test func knownNumbers() {
    #expect(IPProtocol.icmp.rawValue == 1)
    #expect(IPProtocol.tcp.rawValue == 6)
    #expect(IPProtocol.udp.rawValue == 17)
    #expect(IPProtocol.icmpv6.rawValue == 58)
  }

  @Test func describesKnownAndUnknownNumbers() {
    #expect(IPProtocol.icmp.description == "1 (ICMP)")
    #expect(IPProtocol.tcp.description == "6 (TCP)")
    #expect(IPProtocol.udp.description == "17 (UDP)")
    #expect(IPProtocol.icmpv6.description == "58 (ICMPv6)")
    #expect(IPProtocol(rawValue: 132).description == "132")
  }

  @Test func unknownNumbersKeepTheirValue() {
    let sctp = IPProtocol(rawValue: 132)
    #expect(sctp.rawValue == 132)
    #expect(sctp != .tcp)
    #expect(IPProtocol(rawValue: 6) == .tcp)
  }
}
