import PatchbayCore
import PatchbayWire
import Testing

// Every frame below is written out as bytes: addresses, each tag, EtherType and payload,
// never built with the code under test. The pieces are joined with `bytes(...)`.

/// Broadcast from host A (02:00:00:00:00:0a).
let broadcastFromA: [UInt8] = [
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0A,
]
/// To host B (02:00:00:00:00:0b) from host A.
let toBFromA: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0B, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0A]
/// To host A from host B.
let toAFromB: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0A, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0B]
/// The IPv4 EtherType and the first bytes of an IPv4 header.
let ipv4Payload: [UInt8] = [0x08, 0x00, 0x45, 0x00, 0x00, 0x14, 0xDE, 0xAD, 0xBE, 0xEF]

/// The parts, one after the other.
func bytes(_ parts: [UInt8]...) -> [UInt8] { parts.flatMap { $0 } }

/// What the switch did with one frame: the decision, the classification, and the
/// exact bytes each port the frame reaches sends.
struct SwitchedFrame {
  /// Forward, flood or drop.
  var decision: ForwardingDecision
  /// How ingress classified the frame.
  var ingress: IngressFrame
  /// The bytes on the wire of every egress port, by port number.
  var sent: [Int: [UInt8]]
}

extension Bridge {
  /// Runs `frame` through `process(_:on:at:)` on `port`, and frames it for every port
  /// the decision reaches (the one forwarded to, or the flood set) with
  /// `encapsulation(for:of:).apply(to:)`, checking `wireLength` and `write(_:into:)` agree.
  mutating func switchFrame(
    _ frame: [UInt8], on port: Int, at now: Instant = .seconds(1_000),
    sourceLocation: SourceLocation = #_sourceLocation
  ) -> SwitchedFrame {
    let (decision, ingress) = frame.withUnsafeBytes { process($0, on: port, at: now) }
    let egress: [Int]
    switch decision {
    case .forward(let out, _): egress = [out]
    // As the datapath does: a flood skips the ports that refuse this frame.
    case .flood(let vlan):
      egress = floodSet(vlan: vlan, from: port).filter { !refusesEgress(on: $0, of: ingress) }
    case .drop: egress = []
    }
    var sent: [Int: [UInt8]] = [:]
    for out in egress {
      let encapsulation = encapsulation(for: out, of: ingress)
      let applied = frame.withUnsafeBytes { encapsulation.apply(to: $0) }
      expectWriteAgrees(encapsulation, received: frame, applied: applied, sourceLocation)
      sent[out] = applied
    }
    return SwitchedFrame(decision: decision, ingress: ingress, sent: sent)
  }
}

/// Checks that `wireLength` and `write(_:into:)` give what `apply(to:)` gave. The write
/// goes to an odd address between guard bytes, as after an odd-sized I/O header.
func expectWriteAgrees(
  _ encapsulation: EgressEncapsulation, received: [UInt8], applied: [UInt8],
  _ sourceLocation: SourceLocation = #_sourceLocation
) {
  let length = encapsulation.wireLength(ofReceived: received.count)
  #expect(length == applied.count, "wireLength", sourceLocation: sourceLocation)
  let guardByte: UInt8 = 0xE7
  var buffer = [UInt8](repeating: guardByte, count: applied.count + 1 + 16)
  let written = buffer.withUnsafeMutableBytes { destination in
    received.withUnsafeBytes { encapsulation.write($0, into: destination.baseAddress! + 1) }
  }
  #expect(written == applied.count, "write's length", sourceLocation: sourceLocation)
  #expect(
    Array(buffer[1..<(1 + applied.count)]) == applied, "write's bytes",
    sourceLocation: sourceLocation)
  #expect(
    buffer[0] == guardByte && buffer[(1 + applied.count)...].allSatisfy { $0 == guardByte },
    "write stays inside its frame", sourceLocation: sourceLocation)
  if encapsulation.isIdentity {
    #expect(applied == received, "identity", sourceLocation: sourceLocation)
  }
}

private let t0 = Instant.seconds(1_000)

private func trunk(
  _ allowed: VLANBitmap, native: UInt16? = nil, nativeTagged: Bool = false
) -> PortVLANMode {
  .trunk(allowed: allowed, native: native, nativeTagged: nativeTagged)
}

private func tunnel(_ serviceVLAN: UInt16, tagType: EtherType = .serviceVLAN) -> PortVLANMode {
  .dot1qTunnel(serviceVLAN: serviceVLAN, tagType: tagType)
}

/// A bridge with one port per mode, named p0, p1, ...
private func makeBridge(_ modes: PortVLANMode...) -> Bridge {
  Bridge(
    name: "vlan",
    ports: modes.enumerated().map { BridgePortConfiguration(name: "p\($0)", mode: $1) })
}

@Suite("PortVLANMode")
struct PortVLANModeTests {
  // MARK: Modes

  @Test func membershipIsTheVLANsAPortCarries() {
    #expect(PortVLANMode.access(vlan: 10).membership.members == [10])
    #expect(trunk(VLANBitmap([20, 10]), native: 10).membership.members == [10, 20])
    #expect(trunk(.all).membership == .all)
    // A tunnel port belongs to its service VLAN only, whatever its customers tag.
    #expect(tunnel(300).membership.members == [300])
    #expect(tunnel(300, tagType: .vlan).membership.members == [300])
  }

  @Test func modesCompareEveryParameter() {
    #expect(PortVLANMode.access(vlan: 10) == .access(vlan: 10))
    #expect(PortVLANMode.access(vlan: 10) != .access(vlan: 20))
    #expect(trunk(VLANBitmap([10, 20]), native: 10) == trunk(VLANBitmap([20, 10]), native: 10))
    #expect(trunk(VLANBitmap([10, 20]), native: 10) != trunk(VLANBitmap([10, 20]), native: 20))
    #expect(trunk(VLANBitmap([10, 20]), native: 10) != trunk(VLANBitmap([10, 20])))
    #expect(trunk(VLANBitmap([10, 20])) != trunk(VLANBitmap([10, 21])))
    #expect(
      trunk(VLANBitmap([10]), native: 10) != trunk(VLANBitmap([10]), native: 10, nativeTagged: true)
    )
    #expect(tunnel(300) != tunnel(300, tagType: .vlan))
    #expect(tunnel(300) != tunnel(301))
    #expect(PortVLANMode.access(vlan: 300) != tunnel(300))
  }

  @Test func onlyAccessPortsHaveAnAccessVLAN() {
    #expect(BridgePortConfiguration(name: "a", mode: .access(vlan: 10)).accessVLAN == 10)
    #expect(BridgePortConfiguration(name: "t", mode: trunk(.all, native: 10)).accessVLAN == nil)
    #expect(BridgePortConfiguration(name: "q", mode: tunnel(300)).accessVLAN == nil)
    #expect(
      BridgePortConfiguration(name: "a", accessVLAN: 10)
        == BridgePortConfiguration(name: "a", mode: .access(vlan: 10)))
  }

  // MARK: Egress encapsulation

  @Test func encapsulationSkipsThenPushesRightAfterTheAddresses() {
    #expect(EgressEncapsulation.addressesLength == 12)
    let untagged = bytes(toBFromA, ipv4Payload)
    let tagged = bytes(toBFromA, [0x81, 0x00, 0x60, 0x0A], ipv4Payload)
    let cases: [(EgressEncapsulation, received: [UInt8], expected: [UInt8])] = [
      (EgressEncapsulation(pushedTag: nil, skippedLength: 0), untagged, untagged),
      (EgressEncapsulation(pushedTag: nil, skippedLength: 0), tagged, tagged),
      (EgressEncapsulation(pushedTag: nil, skippedLength: 4), tagged, untagged),
      (
        EgressEncapsulation(
          pushedTag: VLANTag(protocolID: .serviceVLAN, controlInformation: 0xB12C),
          skippedLength: 0),
        untagged, bytes(toBFromA, [0x88, 0xA8, 0xB1, 0x2C], ipv4Payload)
      ),
      // Pushed outside a tag that stays: QinQ.
      (
        EgressEncapsulation(
          pushedTag: VLANTag(protocolID: .serviceVLAN, controlInformation: 0x012C),
          skippedLength: 0),
        tagged, bytes(toBFromA, [0x88, 0xA8, 0x01, 0x2C], [0x81, 0x00, 0x60, 0x0A], ipv4Payload)
      ),
      // One tag swapped for another.
      (
        EgressEncapsulation(
          pushedTag: VLANTag(protocolID: .vlan, controlInformation: 0x2014), skippedLength: 4),
        tagged, bytes(toBFromA, [0x81, 0x00, 0x20, 0x14], ipv4Payload)
      ),
      // A bare header.
      (
        EgressEncapsulation(
          pushedTag: VLANTag(protocolID: .vlan, controlInformation: 0x0FFE), skippedLength: 0),
        bytes(toBFromA, [0x08, 0x06]), bytes(toBFromA, [0x81, 0x00, 0x0F, 0xFE], [0x08, 0x06])
      ),
    ]
    for (encapsulation, received, expected) in cases {
      let applied = received.withUnsafeBytes { encapsulation.apply(to: $0) }
      #expect(applied == expected, "\(encapsulation)")
      expectWriteAgrees(encapsulation, received: received, applied: applied)
    }
    #expect(cases.map { $0.0.isIdentity } == [true, true, false, false, false, false, false])
    #expect(
      cases.map { $0.0.wireLength(ofReceived: $0.received.count) } == [22, 26, 22, 26, 30, 26, 18])
  }

  // MARK: Ingress classification

  @Test func ingressClassificationPerMode() {
    var bridge = makeBridge(
      .access(vlan: 10), trunk(.all), trunk(VLANBitmap([10, 20]), native: 10), tunnel(300),
      tunnel(300, tagType: .vlan))
    let cases: [(port: Int, frame: [UInt8], expected: IngressFrame)] = [
      (
        0, bytes(broadcastFromA, ipv4Payload),
        IngressFrame(vlan: 10, tagControl: 0x000A, tagType: .vlan, strippedTagLength: 0)
      ),
      // Priority tag: PCP 5 and DEI kept, the access VLAN filled in, the tag stripped.
      (
        0, bytes(broadcastFromA, [0x81, 0x00, 0xB0, 0x00], ipv4Payload),
        IngressFrame(vlan: 10, tagControl: 0xB00A, tagType: .vlan, strippedTagLength: 4)
      ),
      (
        1, bytes(broadcastFromA, [0x88, 0xA8, 0xF0, 0x14], ipv4Payload),
        IngressFrame(vlan: 20, tagControl: 0xF014, tagType: .serviceVLAN, strippedTagLength: 4)
      ),
      (
        2, bytes(broadcastFromA, ipv4Payload),
        IngressFrame(vlan: 10, tagControl: 0x000A, tagType: .vlan, strippedTagLength: 0)
      ),
      (
        2, bytes(broadcastFromA, [0x81, 0x00, 0xA0, 0x00], ipv4Payload),
        IngressFrame(vlan: 10, tagControl: 0xA00A, tagType: .vlan, strippedTagLength: 4)
      ),
      (
        3, bytes(broadcastFromA, ipv4Payload),
        IngressFrame(vlan: 300, tagControl: 0x012C, tagType: .serviceVLAN, strippedTagLength: 0)
      ),
      // The customer's tag stays in the frame; its priority rides on the service tag.
      (
        4, bytes(broadcastFromA, [0x81, 0x00, 0x60, 0x64], ipv4Payload),
        IngressFrame(
          vlan: 300, tagControl: 0x612C, tagType: .vlan, strippedTagLength: 0, hasInnerTag: true)
      ),
      // A QinQ frame on a trunk: classified by the outer tag, the inner one noted.
      (
        1, bytes(broadcastFromA, [0x88, 0xA8, 0x01, 0x2C], [0x81, 0x00, 0x00, 0x64], ipv4Payload),
        IngressFrame(
          vlan: 300, tagControl: 0x012C, tagType: .serviceVLAN, strippedTagLength: 4,
          hasInnerTag: true)
      ),
    ]
    for (port, frame, expected) in cases {
      let result = frame.withUnsafeBytes { bridge.process($0, on: port, at: t0) }
      #expect(result.ingress == expected, "port \(port)")
      #expect(result.decision == .flood(vlan: expected.vlan), "port \(port)")
    }
  }

  // MARK: Access ports

  @Test func accessToAccessStaysInsideTheVLAN() {
    var bridge = makeBridge(.access(vlan: 10), .access(vlan: 10), .access(vlan: 20))
    let broadcast = bytes(broadcastFromA, ipv4Payload)
    let flooded = bridge.switchFrame(broadcast, on: 0)
    #expect(flooded.decision == .flood(vlan: 10))
    #expect(flooded.sent == [1: broadcast])
    #expect(bridge.encapsulation(for: 1, of: flooded.ingress).isIdentity)

    let reply = bytes(toAFromB, ipv4Payload)
    let forwarded = bridge.switchFrame(reply, on: 1)
    #expect(forwarded.decision == .forward(port: 0, vlan: 10))
    #expect(forwarded.sent == [0: reply])

    // A is unknown in VLAN 20, and nobody else is in it.
    let otherVLAN = bridge.switchFrame(reply, on: 2)
    #expect(otherVLAN.decision == .flood(vlan: 20))
    #expect(otherVLAN.sent == [:])
  }

  @Test func accessToTrunkPushesTheAccessVLANWithPriorityZero() {
    var bridge = makeBridge(
      .access(vlan: 10), trunk(.all), trunk(VLANBitmap([10, 20]), native: 20),
      trunk(VLANBitmap([20])))
    let result = bridge.switchFrame(bytes(broadcastFromA, ipv4Payload), on: 0)
    #expect(result.decision == .flood(vlan: 10))
    let tagged10 = bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x0A], ipv4Payload)
    #expect(result.sent == [1: tagged10, 2: tagged10])
  }

  @Test func priorityTaggedFramesOnAnAccessPortKeepTheirPriority() {
    var bridge = makeBridge(.access(vlan: 10), trunk(.all), .access(vlan: 10))
    let untagged = bytes(broadcastFromA, ipv4Payload)
    // (received tag control, tag control on the trunk): PCP 5; PCP 5 with DEI; PCP 7; PCP 0.
    let cases: [(received: [UInt8], trunk: [UInt8])] = [
      ([0xA0, 0x00], [0xA0, 0x0A]),
      ([0xB0, 0x00], [0xB0, 0x0A]),
      ([0xE0, 0x00], [0xE0, 0x0A]),
      ([0x00, 0x00], [0x00, 0x0A]),
    ]
    for (received, onTrunk) in cases {
      let result = bridge.switchFrame(
        bytes(broadcastFromA, [0x81, 0x00], received, ipv4Payload), on: 0)
      #expect(result.decision == .flood(vlan: 10))
      #expect(
        result.sent == [1: bytes(broadcastFromA, [0x81, 0x00], onTrunk, ipv4Payload), 2: untagged])
    }
  }

  @Test func accessPortsDropTaggedFrames() {
    var bridge = makeBridge(.access(vlan: 10), .access(vlan: 10), trunk(.all))
    let tagged: [[UInt8]] = [
      // Its own VLAN, tagged.
      bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x0A], ipv4Payload),
      bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x14], ipv4Payload),
      bytes(broadcastFromA, [0x88, 0xA8, 0x00, 0x0A], ipv4Payload),
      // A priority tag hiding a VLAN tag: a double-tag hop into VLAN 20.
      bytes(broadcastFromA, [0x81, 0x00, 0xA0, 0x00], [0x81, 0x00, 0x00, 0x14], ipv4Payload),
      bytes(broadcastFromA, [0x88, 0xA8, 0x00, 0x00], [0x81, 0x00, 0x00, 0x14], ipv4Payload),
      bytes(toBFromA, [0x88, 0xA8, 0x00, 0x0A], [0x81, 0x00, 0x00, 0x14], ipv4Payload),
    ]
    for frame in tagged {
      let result = bridge.switchFrame(frame, on: 0)
      #expect(result.decision == .drop(.taggedOnAccessPort), "\(frame)")
      #expect(result.sent == [:])
    }
    #expect(bridge.counters[0][dropped: .taggedOnAccessPort] == 6)
    #expect(bridge.counters[0].droppedPackets == 6)
    #expect(bridge.counters[0].floodedPackets == 0)
    #expect(bridge.table.count == 0)
  }

  // MARK: Trunks

  @Test func trunkToAccessPopsTheTag() {
    var bridge = makeBridge(trunk(.all), .access(vlan: 10), .access(vlan: 20), .access(vlan: 10))
    let untagged = bytes(broadcastFromA, ipv4Payload)
    let vlan10 = bridge.switchFrame(
      bytes(broadcastFromA, [0x81, 0x00, 0x60, 0x0A], ipv4Payload), on: 0)
    #expect(vlan10.decision == .flood(vlan: 10))
    #expect(vlan10.sent == [1: untagged, 3: untagged])
    let vlan20 = bridge.switchFrame(
      bytes(broadcastFromA, [0x88, 0xA8, 0xF0, 0x14], ipv4Payload), on: 0)
    #expect(vlan20.decision == .flood(vlan: 20))
    #expect(vlan20.sent == [2: untagged])
  }

  @Test func trunkToTrunkKeepsTheTagAsReceived() {
    var bridge = makeBridge(trunk(.all), trunk(.all), trunk(VLANBitmap([20, 30]), native: 30))
    for tag: [UInt8] in [
      [0x81, 0x00, 0xF0, 0x14],  // PCP 7, DEI, VLAN 20
      [0x81, 0x00, 0x30, 0x14],  // PCP 1, DEI, VLAN 20
      [0x88, 0xA8, 0xB0, 0x14],  // 802.1ad, PCP 5, DEI, VLAN 20
    ] {
      let frame = bytes(broadcastFromA, tag, ipv4Payload)
      let result = bridge.switchFrame(frame, on: 0)
      #expect(result.decision == .flood(vlan: 20), "\(tag)")
      #expect(result.sent == [1: frame, 2: frame], "\(tag)")
    }
    // Into the other trunk's native VLAN: untagged there.
    let frame = bytes(broadcastFromA, [0x81, 0x00, 0x20, 0x1E], ipv4Payload)
    let result = bridge.switchFrame(frame, on: 0)
    #expect(result.decision == .flood(vlan: 30))
    #expect(result.sent == [1: frame, 2: bytes(broadcastFromA, ipv4Payload)])
  }

  /// p0, p1: native 10; p2: native 10, sent tagged; p3: native 20; p4: no native; all
  /// allowing 10 and 20; p5 access 10, p6 access 20.
  private func nativeBridge() -> Bridge {
    let allowed = VLANBitmap([10, 20])
    return makeBridge(
      trunk(allowed, native: 10), trunk(allowed, native: 10),
      trunk(allowed, native: 10, nativeTagged: true), trunk(allowed, native: 20), trunk(allowed),
      .access(vlan: 10), .access(vlan: 20))
  }

  @Test func untaggedFramesOnATrunkBelongToItsNativeVLAN() {
    var bridge = nativeBridge()
    let untagged = bytes(broadcastFromA, ipv4Payload)
    let tagged10 = bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x0A], ipv4Payload)
    let expected = [1: untagged, 2: tagged10, 3: tagged10, 4: tagged10, 5: untagged]
    // Untagged, or tagged with the native VLAN: the same frame inside.
    for frame in [untagged, tagged10] {
      let result = bridge.switchFrame(frame, on: 0)
      #expect(result.decision == .flood(vlan: 10))
      #expect(result.sent == expected)
    }
    // Priority-tagged (VLAN 0) counts as untagged and keeps PCP 5 where it leaves tagged.
    let priority = bridge.switchFrame(
      bytes(broadcastFromA, [0x81, 0x00, 0xA0, 0x00], ipv4Payload), on: 0)
    #expect(priority.decision == .flood(vlan: 10))
    let tagged10PCP5 = bytes(broadcastFromA, [0x81, 0x00, 0xA0, 0x0A], ipv4Payload)
    #expect(
      priority.sent == [
        1: untagged, 2: tagged10PCP5, 3: tagged10PCP5, 4: tagged10PCP5, 5: untagged,
      ])
  }

  @Test func aNonNativeVLANLeavesTaggedExceptWhereItIsNative() {
    var bridge = nativeBridge()
    let tagged20 = bytes(broadcastFromA, [0x81, 0x00, 0x20, 0x14], ipv4Payload)
    let untagged = bytes(broadcastFromA, ipv4Payload)
    let result = bridge.switchFrame(tagged20, on: 0)
    #expect(result.decision == .flood(vlan: 20))
    #expect(result.sent == [1: tagged20, 2: tagged20, 3: untagged, 4: tagged20, 6: untagged])
  }

  @Test func nativeTaggedTrunksTakeUntaggedFramesAndSendTheNativeVLANTagged() {
    var bridge = nativeBridge()
    let untagged = bytes(broadcastFromA, ipv4Payload)
    let tagged10 = bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x0A], ipv4Payload)
    for frame in [untagged, tagged10] {
      let result = bridge.switchFrame(frame, on: 2)
      #expect(result.decision == .flood(vlan: 10))
      #expect(result.sent == [0: untagged, 1: untagged, 3: tagged10, 4: tagged10, 5: untagged])
    }
    let fromAccess = bridge.switchFrame(untagged, on: 5)
    #expect(fromAccess.decision == .flood(vlan: 10))
    #expect(
      fromAccess.sent == [0: untagged, 1: untagged, 2: tagged10, 3: tagged10, 4: tagged10])
  }

  @Test func aTrunkWithoutANativeVLANDropsUntaggedFrames() {
    var bridge = nativeBridge()
    for frame in [
      bytes(broadcastFromA, ipv4Payload),
      bytes(broadcastFromA, [0x81, 0x00, 0xA0, 0x00], ipv4Payload),
    ] {
      let result = bridge.switchFrame(frame, on: 4)
      #expect(result.decision == .drop(.untaggedOnTrunk))
      #expect(result.sent == [:])
    }
    #expect(bridge.counters[4][dropped: .untaggedOnTrunk] == 2)
    #expect(bridge.counters[4].droppedPackets == 2)
    #expect(bridge.counters[4].receivedPackets == 2)
    #expect(bridge.table.count == 0)
    // Tagged frames of its VLANs still pass.
    let tagged20 = bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x14], ipv4Payload)
    let passed = bridge.switchFrame(tagged20, on: 4)
    #expect(passed.decision == .flood(vlan: 20))
    #expect(passed.sent.keys.sorted() == [0, 1, 2, 3, 6])
  }

  @Test func disallowedVLANsAreDroppedOnIngressAndNeverSent() {
    var bridge = makeBridge(
      trunk(VLANBitmap([10, 20]), native: 10), trunk(.all), trunk(VLANBitmap([30])),
      .access(vlan: 30), trunk(VLANBitmap([10, 20])))
    for frame in [
      bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x1E], ipv4Payload),
      bytes(broadcastFromA, [0x88, 0xA8, 0x00, 0x1E], ipv4Payload),
      bytes(broadcastFromA, [0x81, 0x00, 0x0F, 0xFE], ipv4Payload),
    ] {
      let result = bridge.switchFrame(frame, on: 0)
      #expect(result.decision == .drop(.vlanNotAllowed), "\(frame)")
      #expect(result.sent == [:])
    }
    #expect(bridge.counters[0][dropped: .vlanNotAllowed] == 3)
    // VLAN 4095 is reserved: no trunk allows it, not even one of all VLANs.
    let reserved = bridge.switchFrame(
      bytes(broadcastFromA, [0x81, 0x00, 0x0F, 0xFF], ipv4Payload), on: 1)
    #expect(reserved.decision == .drop(.vlanNotAllowed))
    #expect(bridge.counters[1][dropped: .vlanNotAllowed] == 1)
    #expect(bridge.table.count == 0)

    // VLAN 30 from the all-VLAN trunk reaches the trunk of 30 and the access port, not p0 or p4.
    let tagged30 = bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x1E], ipv4Payload)
    let flooded = bridge.switchFrame(tagged30, on: 1)
    #expect(flooded.decision == .flood(vlan: 30))
    #expect(flooded.sent == [2: tagged30, 3: bytes(broadcastFromA, ipv4Payload)])

    // Nor is a unicast frame of VLAN 30 sent to a trunk outside it (a static entry put it there).
    let added = bridge.addStaticEntry(MACAddress(0x02, 0, 0, 0, 0, 0x0B), vlan: 30, port: 4)
    #expect(added)
    let unicast = bridge.switchFrame(bytes(toBFromA, [0x81, 0x00, 0x00, 0x1E], ipv4Payload), on: 1)
    #expect(unicast.decision == .drop(.vlanNotAllowed))
    #expect(unicast.sent == [:])
    #expect(bridge.counters[1][dropped: .vlanNotAllowed] == 2)
    #expect(bridge.counters[4] == PortCounters())
  }

  @Test func aNativeVLANFrameWithAnInnerTagIsDroppedOnTrunks() {
    var bridge = makeBridge(trunk(.all, native: 10), trunk(.all), .access(vlan: 20))
    for frame in [
      bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x0A], [0x81, 0x00, 0x00, 0x14], ipv4Payload),
      bytes(broadcastFromA, [0x88, 0xA8, 0x00, 0x0A], [0x81, 0x00, 0x00, 0x14], ipv4Payload),
      // Priority-tagged is native too.
      bytes(broadcastFromA, [0x81, 0x00, 0xA0, 0x00], [0x81, 0x00, 0x00, 0x14], ipv4Payload),
    ] {
      let result = bridge.switchFrame(frame, on: 0)
      #expect(result.decision == .drop(.doubleTagged), "\(frame)")
      #expect(result.sent == [:])
    }
    #expect(bridge.counters[0][dropped: .doubleTagged] == 3)
    #expect(bridge.table.count == 0)

    // Another VLAN with an inner tag is QinQ traffic: it passes, classified by its outer tag.
    let qinq = bytes(
      broadcastFromA, [0x88, 0xA8, 0x00, 0x1E], [0x81, 0x00, 0x00, 0x14], ipv4Payload)
    let result = bridge.switchFrame(qinq, on: 0)
    #expect(result.decision == .flood(vlan: 30))
    #expect(result.sent == [1: qinq])
  }

  @Test func aTrunkNeverExposesAnInnerTagOnItsUntaggedNativeVLAN() {
    // p0 trunk of 30 (no native), p1 trunk of 30 with native 30 untagged,
    // p2 trunk of 30 with native 30 tagged, p3 tunnel port of S-VLAN 30.
    var bridge = makeBridge(
      trunk(VLANBitmap([30])), trunk(VLANBitmap([30]), native: 30),
      trunk(VLANBitmap([30]), native: 30, nativeTagged: true), tunnel(30))
    // [8100 30][8100 20]: sent untagged out of p1 it would read as VLAN 20.
    let doubleTagged = bytes(
      broadcastFromA, [0x81, 0x00, 0x00, 0x1E], [0x81, 0x00, 0x00, 0x14], ipv4Payload)
    let flooded = bridge.switchFrame(doubleTagged, on: 0)
    #expect(flooded.decision == .flood(vlan: 30))
    #expect(bridge.refusesEgress(on: 1, of: flooded.ingress))
    #expect(!bridge.refusesEgress(on: 2, of: flooded.ingress))
    #expect(flooded.sent[1] == nil, "p1 must not send it")
    #expect(flooded.sent[2] == doubleTagged, "p2 keeps the outer tag")
    // The tunnel port pops the service tag: the customer's VLAN 20 frame, as intended.
    #expect(
      flooded.sent[3] == bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x14], ipv4Payload))

    // Unicast to a MAC learned on p1 is dropped and counted on the ingress port.
    let reply = bytes(toAFromB, [0x08, 0x00], ipv4Payload)
    _ = bridge.switchFrame(reply, on: 1)
    let unicast = bytes(
      toBFromA, [0x81, 0x00, 0x00, 0x1E], [0x81, 0x00, 0x00, 0x14], ipv4Payload)
    let result = bridge.switchFrame(unicast, on: 0)
    #expect(result.decision == .drop(.doubleTagged))
    #expect(bridge.counters[0][dropped: .doubleTagged] == 1)
    // A single-tagged frame of VLAN 30 still leaves p1 untagged.
    let single = bytes(toBFromA, [0x81, 0x00, 0x00, 0x1E], ipv4Payload)
    #expect(bridge.switchFrame(single, on: 0).sent == [1: bytes(toBFromA, ipv4Payload)])
  }

  // MARK: QinQ

  /// p0, p2: tunnels of S-VLAN 300 (802.1ad); p1: trunk of all VLANs; p3: tunnel of
  /// S-VLAN 300 with 0x8100 outer tags; p4: trunk of 10 and 100; p5: tunnel of S-VLAN 400.
  private func qinqBridge() -> Bridge {
    makeBridge(
      tunnel(300), trunk(.all), tunnel(300), tunnel(300, tagType: .vlan),
      trunk(VLANBitmap([10, 100])), tunnel(400))
  }

  @Test func qinqPushesTheServiceTagOutsideTheCustomerFrame() {
    var bridge = qinqBridge()
    let untagged = bytes(broadcastFromA, ipv4Payload)
    let customer100 = bytes(broadcastFromA, [0x81, 0x00, 0x60, 0x64], ipv4Payload)

    let plain = bridge.switchFrame(untagged, on: 0)
    #expect(plain.decision == .flood(vlan: 300))
    #expect(
      plain.sent == [
        1: bytes(broadcastFromA, [0x88, 0xA8, 0x01, 0x2C], ipv4Payload), 2: untagged, 3: untagged,
      ])

    let tagged = bridge.switchFrame(customer100, on: 0)
    #expect(tagged.decision == .flood(vlan: 300))
    #expect(
      tagged.sent == [
        1: bytes(broadcastFromA, [0x88, 0xA8, 0x61, 0x2C], [0x81, 0x00, 0x60, 0x64], ipv4Payload),
        2: customer100, 3: customer100,
      ])
    // Tunnel to tunnel: untouched.
    #expect(bridge.encapsulation(for: 2, of: tagged.ingress).isIdentity)
    #expect(bridge.encapsulation(for: 3, of: tagged.ingress).isIdentity)
  }

  @Test func qinqWithA8100OuterTag() {
    var bridge = qinqBridge()
    let untagged = bytes(broadcastFromA, ipv4Payload)
    let customer100 = bytes(broadcastFromA, [0x81, 0x00, 0x60, 0x64], ipv4Payload)

    let tagged = bridge.switchFrame(customer100, on: 3)
    #expect(tagged.decision == .flood(vlan: 300))
    #expect(
      tagged.sent == [
        0: customer100,
        1: bytes(broadcastFromA, [0x81, 0x00, 0x61, 0x2C], [0x81, 0x00, 0x60, 0x64], ipv4Payload),
        2: customer100,
      ])
    let plain = bridge.switchFrame(untagged, on: 3)
    #expect(
      plain.sent == [
        0: untagged, 1: bytes(broadcastFromA, [0x81, 0x00, 0x01, 0x2C], ipv4Payload), 2: untagged,
      ])
  }

  @Test func qinqPopsTheServiceTagBackToTheCustomersBytes() {
    var bridge = qinqBridge()
    let untagged = bytes(broadcastFromA, ipv4Payload)
    let customer100 = bytes(broadcastFromA, [0x81, 0x00, 0x60, 0x64], ipv4Payload)
    let cases: [(onTrunk: [UInt8], customer: [UInt8])] = [
      (
        bytes(broadcastFromA, [0x88, 0xA8, 0x61, 0x2C], [0x81, 0x00, 0x60, 0x64], ipv4Payload),
        customer100
      ),
      (bytes(broadcastFromA, [0x88, 0xA8, 0x01, 0x2C], ipv4Payload), untagged),
      (
        bytes(broadcastFromA, [0x81, 0x00, 0x61, 0x2C], [0x81, 0x00, 0x60, 0x64], ipv4Payload),
        customer100
      ),
      (bytes(broadcastFromA, [0x81, 0x00, 0x01, 0x2C], ipv4Payload), untagged),
    ]
    for (onTrunk, customer) in cases {
      let result = bridge.switchFrame(onTrunk, on: 1)
      #expect(result.decision == .flood(vlan: 300))
      #expect(result.sent == [0: customer, 2: customer, 3: customer])
    }
  }

  @Test func qinqUnicastRoundTripLearnsInTheServiceVLAN() {
    var bridge = qinqBridge()
    let request = bytes(toBFromA, [0x81, 0x00, 0x60, 0x64], ipv4Payload)
    let outbound = bridge.switchFrame(request, on: 0)
    #expect(outbound.decision == .flood(vlan: 300))
    #expect(bridge.table.lookup(MACAddress(0x02, 0, 0, 0, 0, 0x0A), vlan: 300, at: t0) == 0)
    // The customer's VLAN 100 is no VLAN of the switch.
    #expect(bridge.table.lookup(MACAddress(0x02, 0, 0, 0, 0, 0x0A), vlan: 100, at: t0) == nil)

    let reply = bridge.switchFrame(
      bytes(toAFromB, [0x88, 0xA8, 0x61, 0x2C], [0x81, 0x00, 0x60, 0x64], ipv4Payload), on: 1)
    #expect(reply.decision == .forward(port: 0, vlan: 300))
    #expect(reply.sent == [0: bytes(toAFromB, [0x81, 0x00, 0x60, 0x64], ipv4Payload)])

    let again = bridge.switchFrame(request, on: 0)
    #expect(again.decision == .forward(port: 1, vlan: 300))
    #expect(
      again.sent == [
        1: bytes(toBFromA, [0x88, 0xA8, 0x61, 0x2C], [0x81, 0x00, 0x60, 0x64], ipv4Payload)
      ])
  }

  @Test func customerTagsNeverReachOtherVLANs() {
    var bridge = qinqBridge()
    // The customer's VLAN 100 is allowed on p4, but the frame is in S-VLAN 300.
    let result = bridge.switchFrame(
      bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x64], ipv4Payload), on: 0)
    #expect(result.decision == .flood(vlan: 300))
    #expect(result.sent.keys.sorted() == [1, 2, 3])
    // Another service VLAN's customer: only the trunk.
    let other = bridge.switchFrame(bytes(broadcastFromA, ipv4Payload), on: 5)
    #expect(other.decision == .flood(vlan: 400))
    #expect(other.sent == [1: bytes(broadcastFromA, [0x88, 0xA8, 0x01, 0x90], ipv4Payload)])
  }
}
