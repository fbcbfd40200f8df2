import PatchbayWire
import Testing

struct EtherTypeTests {
  @Test func knownValues() {
    #expect(EtherType.ipv4.rawValue == 0x0800)
    #expect(EtherType.arp.rawValue == 0x0806)
    #expect(EtherType.ipv6.rawValue == 0x86DD)
    #expect(EtherType.vlan.rawValue == 0x8100)
    #expect(EtherType.serviceVLAN.rawValue == 0x88A8)
  }

  @Test func onlyTheTwoTagProtocolsAreVLANTags() {
    #expect(EtherType.vlan.isVLANTag)
    #expect(EtherType.serviceVLAN.isVLANTag)
    #expect(!EtherType.ipv4.isVLANTag)
    #expect(!EtherType(rawValue: 0x9100).isVLANTag)
  }

  @Test func describesKnownAndUnknownValues() {
    #expect(EtherType.ipv4.description == "0x0800 (IPv4)")
    #expect(EtherType.arp.description == "0x0806 (ARP)")
    #expect(EtherType.ipv6.description == "0x86dd (IPv6)")
    #expect(EtherType.vlan.description == "0x8100 (802.1Q)")
    #expect(EtherType.serviceVLAN.description == "0x88a8 (802.1ad)")
    #expect(EtherType(rawValue: 0x88B5).description == "0x88b5")
    #expect(EtherType(rawValue: 0x0042).description == "0x0042")
  }

  @Test func localExperimentalTypeSurvivesARoundTrip() throws {
    let header = EthernetHeader(
      destination: MACAddress("52:54:00:12:34:56")!, source: MACAddress("52:54:00:ab:cd:ef")!,
      payloadType: EtherType(rawValue: 0x88B5))
    let bytes = header.emit(payload: [0xCA, 0xFE])
    #expect(bytes[12] == 0x88 && bytes[13] == 0xB5)
    try bytes.withUnsafeBytes { raw in
      let frame = try EthernetFrame(validating: raw)
      #expect(frame.etherType == EtherType(rawValue: 0x88B5))
      #expect(frame.payloadType.rawValue == 0x88B5)
      #expect(frame.tagCount == 0)
      #expect(Array(frame.payload) == [0xCA, 0xFE])
    }
  }
}
