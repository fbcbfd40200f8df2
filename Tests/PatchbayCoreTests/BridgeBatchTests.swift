import PatchbayCore
import PatchbayWire
import Testing

/// `Bridge.process(_:on:at:into:)`: a batch is decided, learned and counted
/// exactly as its frames one by one, whatever the batch holds.
@Suite("Bridge batches")
struct BridgeBatchTests {
  /// Access ports 0–3 (VLAN 1) and 4 (VLAN 2), a trunk (5: VLANs 1 and 2,
  /// native 1), a guarded access port (6: at most 3 MACs, protected) and a
  /// protected port (7); a small table, so learning evicts too.
  static func makeBridge() -> Bridge {
    var ports = (0..<4).map { BridgePortConfiguration(name: "p\($0)") }
    ports.append(BridgePortConfiguration(name: "p4", accessVLAN: 2))
    ports.append(
      BridgePortConfiguration(
        name: "trunk", mode: .trunk(allowed: VLANBitmap([1, 2]), native: 1, nativeTagged: false)))
    ports.append(
      BridgePortConfiguration(
        name: "guarded", security: PortSecurity(maximumMACs: 3, isProtected: true)))
    ports.append(
      BridgePortConfiguration(name: "protected", security: PortSecurity(isProtected: true)))
    return Bridge(name: "core", ports: ports, macTableSize: 48, macAging: .seconds(5))
  }

  /// One of 40 hosts, or now and then an address no host has: a broadcast, a
  /// reserved group, a multicast group, the zero address.
  static func address(_ random: inout SplitMix64) -> MACAddress {
    switch random.below(20) {
    case 0: return .broadcast
    case 1: return MACAddress(0x01, 0x80, 0xC2, 0x00, 0x00, 0x0E)
    case 2: return MACAddress(0x01, 0x00, 0x5E, 0x00, 0x00, 0x01)
    case 3: return MACAddress(0, 0, 0, 0, 0, 0)
    default: return MACAddress(0x02, 0, 0, 0, 0, UInt8(random.below(40) + 1))
    }
  }

  /// A frame as a guest might send it: mostly untagged, sometimes tagged,
  /// priority-tagged, double-tagged or cut short.
  static func frame(_ random: inout SplitMix64) -> [UInt8] {
    let destination = address(&random)
    let source = address(&random)
    let tag: VLANTag?
    switch random.below(10) {
    case 0: tag = VLANTag(protocolID: .vlan, controlInformation: UInt16(random.below(3)))
    case 1: tag = VLANTag(protocolID: .serviceVLAN, controlInformation: 2)
    default: tag = nil
    }
    var bytes = EthernetHeader(
      destination: destination, source: source, tag: tag, payloadType: .ipv4
    ).emit(payload: Array(repeating: 0x5A, count: 46))
    if random.below(25) == 0 { bytes = Array(bytes.prefix(random.below(14))) }
    return bytes
  }

  /// Decides `frames` from `port` at `now` one by one in `single` and as one
  /// batch in `batched`, and expects the same decisions.
  static func compare(
    _ frames: [[UInt8]], on port: Int, at now: Instant, single: inout Bridge,
    batched: inout Bridge, seed: UInt64
  ) {
    var expected: [BatchDecision] = []
    for bytes in frames {
      expected.append(bytes.withUnsafeBytes { single.process($0, on: port, at: now) })
    }
    let results = UnsafeMutablePointer<BatchDecision>.allocate(capacity: max(frames.count, 1))
    defer { results.deallocate() }
    var views: [UnsafeRawBufferPointer] = []
    let storage = frames.map { bytes -> UnsafeMutableRawBufferPointer in
      let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
      copy.copyBytes(from: bytes)
      views.append(UnsafeRawBufferPointer(copy))
      return copy
    }
    defer { storage.forEach { $0.deallocate() } }
    views.withUnsafeBufferPointer { batched.process($0, on: port, at: now, into: results) }
    for (index, want) in expected.enumerated() {
      #expect(results[index].decision == want.decision, "seed \(seed), frame \(index)")
      if case .drop = want.decision { continue }
      #expect(results[index].ingress == want.ingress, "seed \(seed), frame \(index)")
    }
  }

  @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
  func aBatchIsDecidedAsItsFramesOneByOne(seed: UInt64) {
    var random = SplitMix64(seed: seed)
    var single = Self.makeBridge()
    var batched = Self.makeBridge()
    var now = Instant.seconds(100)
    for round in 0..<400 {
      let port = random.below(8)
      let frames = (0..<random.below(33)).map { _ in Self.frame(&random) }
      Self.compare(frames, on: port, at: now, single: &single, batched: &batched, seed: seed)
      // Now and then a port goes down or comes back, and time passes
      // (entries age out of the 5 s table).
      if round % 37 == 36 {
        let which = random.below(8)
        let up = random.below(2) == 0
        single.setPort(which, isUp: up)
        batched.setPort(which, isUp: up)
      }
      now = Instant(nanoseconds: now.nanoseconds + UInt64(random.below(200_000_000)))
    }
    #expect(single.counters == batched.counters, "seed \(seed)")
    #expect(single.table.entries(at: now) == batched.table.entries(at: now), "seed \(seed)")
    #expect(single.table.statistics == batched.table.statistics, "seed \(seed)")
  }

  @Test func aBatchOfKnownHostsIsForwardedAndCountedOnce() {
    var bridge = Self.makeBridge()
    let a = MACAddress(0x02, 0, 0, 0, 0, 0x0A)
    let b = MACAddress(0x02, 0, 0, 0, 0, 0x0B)
    let now = Instant.seconds(10)
    let fromB = EthernetHeader(destination: .broadcast, source: b, tag: nil, payloadType: .ipv4)
      .emit(payload: Array(repeating: 0, count: 46))
    _ = fromB.withUnsafeBytes { bridge.process($0, on: 2, at: now) }
    let toB = EthernetHeader(destination: b, source: a, tag: nil, payloadType: .ipv4)
      .emit(payload: Array(repeating: 0, count: 46))
    var batchSingle = Self.makeBridge()
    _ = fromB.withUnsafeBytes { batchSingle.process($0, on: 2, at: now) }
    Self.compare(
      Array(repeating: toB, count: 32), on: 0, at: now, single: &batchSingle, batched: &bridge,
      seed: 0)
    let counters = bridge.counters(of: 0)
    #expect(counters.receivedPackets == 32)
    #expect(counters.receivedBytes == 32 * 60)
    #expect(counters.forwardedPackets == 32)
    #expect(counters.floodedPackets == 0)
    #expect(bridge.table.lookup(a, vlan: 1, at: now) == 0)
  }

  @Test func anEmptyBatchChangesNothing() {
    var bridge = Self.makeBridge()
    let results = UnsafeMutablePointer<BatchDecision>.allocate(capacity: 1)
    defer { results.deallocate() }
    let none: [UnsafeRawBufferPointer] = []
    none.withUnsafeBufferPointer { bridge.process($0, on: 0, at: .seconds(1), into: results) }
    #expect(bridge.counters == Self.makeBridge().counters)
  }
}
