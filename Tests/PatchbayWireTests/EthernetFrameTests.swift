import PatchbayWire
import Testing

struct EthernetFrameTests {
  private static let addresses: [UInt8] = [
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56,  // destination
    0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,  // source
  ]
  /// The echo request in VLAN 10, priority 3.
  private static let singleTagged: [UInt8] =
    addresses + [0x81, 0x00, 0x60, 0x0a, 0x08, 0x00] + Sample.icmpEchoPacket
  /// The echo request in QinQ: service VLAN 100 outside, customer VLAN 10 inside.
  private static let doubleTagged: [UInt8] =
    addresses + [0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a, 0x08, 0x00] + Sample.icmpEchoPacket

  @Test func readsAnUntaggedFrame() throws {
    try Sample.arpRequestFrame.withUnsafeBytes { bytes in
      let frame = try EthernetFrame(validating: bytes)
      #expect(frame.destination == .broadcast)
      #expect(frame.source == MACAddress("00:07:0d:af:f4:54"))
      #expect(frame.etherType == .arp)
      #expect(frame.tagCount == 0)
      #expect(frame.outerTag == nil)
      #expect(frame.payloadType == .arp)
      #expect(frame.payloadOffset == 14)
      #expect(Array(frame.payload) == Array(Sample.arpRequestFrame[14...]))
    }
  }

  @Test func readsASingleTag() throws {
    try Self.singleTagged.withUnsafeBytes { bytes in
      let frame = try EthernetFrame(validating: bytes)
      #expect(frame.destination == MACAddress("52:54:00:12:34:56"))
      #expect(frame.source == MACAddress("52:54:00:ab:cd:ef"))
      #expect(frame.etherType == .vlan)
      #expect(frame.tagCount == 1)
      #expect(frame.outerTag == VLANTag(vlanID: 10, priority: 3))
      #expect(frame.tag(at: 0).vlanID == 10)
      #expect(frame.payloadType == .ipv4)
      #expect(frame.payloadOffset == 18)
      #expect(Array(frame.payload) == Sample.icmpEchoPacket)
    }
  }

  @Test func readsADoubleTag() throws {
    try Self.doubleTagged.withUnsafeBytes { bytes in
      let frame = try EthernetFrame(validating: bytes)
      #expect(frame.etherType == .serviceVLAN)
      #expect(frame.tagCount == 2)
      #expect(frame.outerTag == VLANTag(protocolID: .serviceVLAN, vlanID: 100))
      #expect(frame.tag(at: 0) == VLANTag(protocolID: .serviceVLAN, vlanID: 100))
      #expect(frame.tag(at: 1) == VLANTag(protocolID: .vlan, vlanID: 10))
      #expect(frame.payloadType == .ipv4)
      #expect(frame.payloadOffset == 22)
      #expect(Array(frame.payload) == Sample.icmpEchoPacket)
    }
  }

  @Test func stopsAfterTwoTags() throws {
    // A third tag is not walked: it is the start of the payload.
    let triple =
      Self.addresses + [
        0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x0b, 0x08, 0x00,
      ]
    try triple.withUnsafeBytes { bytes in
      let frame = try EthernetFrame(validating: bytes)
      #expect(frame.tagCount == 2)
      #expect(frame.payloadType == .vlan)
      #expect(Array(frame.payload) == [0x00, 0x0b, 0x08, 0x00])
    }
  }

  @Test func acceptsATagWithAnEmptyPayload() throws {
    try Array(Self.singleTagged[..<18]).withUnsafeBytes { bytes in
      let frame = try EthernetFrame(validating: bytes)
      #expect(frame.tagCount == 1)
      #expect(frame.payloadType == .ipv4)
      #expect(frame.payload.isEmpty)
    }
  }

  @Test func aNegativeTagIndexTraps() async {
    // A negative index once passed the check; in a release build (no debug bounds checks
    // in the raw buffer) it read before the buffer. `swift test -c release` catches it.
    await #expect(processExitsWith: .failure) {
      Sample.arpRequestFrame.withUnsafeBytes { bytes in
        _ = try! EthernetFrame(validating: bytes).tag(at: -4)
      }
    }
  }

  @Test func aTagIndexPastTheTagsTraps() async {
    await #expect(processExitsWith: .failure) {
      Sample.arpRequestFrame.withUnsafeBytes { bytes in
        _ = try! EthernetFrame(validating: bytes).tag(at: 0)
      }
    }
  }

  @Test func rejectsEveryLengthBelowTheHeader() {
    for length in 0..<EthernetFrame.headerLength {
      let error = rejection(Array(Sample.arpRequestFrame.prefix(length))) {
        _ = try EthernetFrame(validating: $0)
      }
      #expect(error == .truncated, "length \(length)")
    }
  }

  @Test func rejectsATagCutShort() {
    for length in 14..<18 {
      let error = rejection(Array(Self.singleTagged.prefix(length))) {
        _ = try EthernetFrame(validating: $0)
      }
      #expect(error == .truncated, "length \(length)")
    }
  }

  @Test func rejectsASecondTagCutShort() {
    for length in 14..<22 {
      let error = rejection(Array(Self.doubleTagged.prefix(length))) {
        _ = try EthernetFrame(validating: $0)
      }
      #expect(error == .truncated, "length \(length)")
    }
    #expect(
      rejection(Array(Self.doubleTagged.prefix(22))) { _ = try EthernetFrame(validating: $0) }
        == nil)
  }

  @Test func mutableFrameRewritesTheHeader() throws {
    var bytes = Sample.arpRequestFrame
    try bytes.withUnsafeMutableBytes { raw in
      let frame = try MutableEthernetFrame(validating: raw)
      frame.setDestination(MACAddress("52:54:00:12:34:56")!)
      frame.setSource(MACAddress("02:00:00:00:00:01")!)
      frame.setEtherType(EtherType(rawValue: 0x88B5))
    }
    #expect(
      Array(bytes[..<14]) == [
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0xB5,
      ])
    #expect(Array(bytes[14...]) == Array(Sample.arpRequestFrame[14...]))
  }

  @Test func mutableFrameRejectsAShortBuffer() {
    var bytes = [UInt8](repeating: 0, count: 13)
    #expect(throws: WireError.truncated) {
      try bytes.withUnsafeMutableBytes { _ = try MutableEthernetFrame(validating: $0) }
    }
  }

  @Test func headerEmitsTheExactBytes() {
    let untagged = EthernetHeader(
      destination: .broadcast, source: MACAddress("00:07:0d:af:f4:54")!, payloadType: .arp)
    #expect(untagged.byteCount == 14)
    #expect(untagged.emit(payload: Array(Sample.arpRequestFrame[14...])) == Sample.arpRequestFrame)
    let tagged = EthernetHeader(
      destination: MACAddress("52:54:00:12:34:56")!, source: MACAddress("52:54:00:ab:cd:ef")!,
      tag: VLANTag(vlanID: 10, priority: 3), payloadType: .ipv4)
    #expect(tagged.byteCount == 18)
    #expect(tagged.emit(payload: Sample.icmpEchoPacket) == Self.singleTagged)
    #expect(tagged.emit() == Array(Self.singleTagged[..<18]))
  }
}
