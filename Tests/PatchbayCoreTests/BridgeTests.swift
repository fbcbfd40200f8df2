import PatchbayCore
import PatchbayWire
import Testing

private let hostA = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x0A)
private let hostB = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x0B)
private let hostC = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x0C)
private let t0 = Instant.seconds(1_000)

/// An IPv4 frame; 60 bytes (the Ethernet minimum without FCS) untagged, 64 tagged.
private func frame(
  from source: MACAddress, to destination: MACAddress, tag: VLANTag? = nil,
  payloadLength: Int = 46
) -> [UInt8] {
  EthernetHeader(destination: destination, source: source, tag: tag, payloadType: .ipv4)
    .emit(payload: (0..<payloadLength).map { UInt8(truncatingIfNeeded: $0) })
}

/// A bridge whose ports are access ports of `vlans`, in order, named p0, p1, ...
private func makeBridge(
  vlans: [UInt16], macTableSize: Int = 8192, macAging: Duration = .seconds(300)
) -> Bridge {
  Bridge(
    name: "core",
    ports: vlans.enumerated().map { BridgePortConfiguration(name: "p\($0)", accessVLAN: $1) },
    macTableSize: macTableSize, macAging: macAging)
}

extension Bridge {
  /// Runs `bytes` through the bridge on `port` at `now` (for the suites of this target).
  mutating func receive(_ bytes: [UInt8], on port: Int, at now: Instant)
    -> ForwardingDecision
  {
    bytes.withUnsafeBytes { receive($0, on: port, at: now) }
  }
}

@Suite("Bridge")
struct BridgeTests {
  @Test func frameBuilderEmitsExactBytes() {
    #expect(
      frame(from: hostA, to: hostB, payloadLength: 4) == [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0B,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0A,
        0x08, 0x00,
        0x00, 0x01, 0x02, 0x03,
      ])
    #expect(
      frame(from: hostA, to: .broadcast, tag: VLANTag(vlanID: 10, priority: 5), payloadLength: 2)
        == [
          0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
          0x02, 0x00, 0x00, 0x00, 0x00, 0x0A,
          0x81, 0x00, 0xA0, 0x0A,
          0x08, 0x00,
          0x00, 0x01,
        ])
    #expect(frame(from: hostA, to: hostB).count == 60)
    #expect(frame(from: hostA, to: hostB, tag: VLANTag(vlanID: 10)).count == 64)
  }

  // The bridge keeps its per-port state and counters in storage of its own with
  // copy on write: a copy must never see the other's frames, counters or links.
  @Test func aCopyOfABridgeIsIndependent() {
    var original = makeBridge(vlans: [1, 1, 1])
    _ = original.receive(frame(from: hostA, to: hostB), on: 0, at: t0)
    var copy = original
    // First a refresh of a known source in the copy: its time is written in
    // place, and the copy must have made its table its own first.
    _ = copy.receive(frame(from: hostA, to: hostB), on: 0, at: t0 + .seconds(100))
    let copied = copy.receive(frame(from: hostB, to: hostA), on: 1, at: t0 + .seconds(100))
    #expect(copied == .forward(port: 0, vlan: 1))
    copy.setPort(2, isUp: false)
    copy.makeMonitor(2)
    copy.countTransmitted(byteCount: 60, on: 1)
    #expect(original.counters[1] == PortCounters())
    #expect(original.counters[0].receivedPackets == 1)
    #expect(original.counters[0].floodedPackets == 1)
    #expect(!original.isMonitor(2))
    #expect(original.floods(to: 2, vlan: 1, from: 1))
    #expect(original.floods(to: 0, vlan: 1, from: 1))
    #expect(original.table.lookup(hostB, vlan: 1, at: t0) == nil)
    #expect(original.table.lookup(hostA, vlan: 1, at: t0 + .seconds(300)) == nil)
    #expect(copy.table.lookup(hostA, vlan: 1, at: t0 + .seconds(300)) == 0)
    #expect(copy.counters[0].receivedPackets == 2)
    #expect(copy.counters[1].receivedPackets == 1)
    #expect(copy.counters[1].forwardedPackets == 1)
    #expect(copy.counters[1].transmittedPackets == 1)
    #expect(copy.counters(of: 1) == copy.counters[1])
    #expect(copy.counters[2].linkDowns == 1)
    #expect(copy.isMonitor(2))
    #expect(!copy.floods(to: 2, vlan: 1, from: 1))
    #expect(copy.table.lookup(hostB, vlan: 1, at: t0 + .seconds(100)) == 1)
    // And the original, written after the copy, does not reach the copy either.
    let later = original.receive(frame(from: hostC, to: hostA), on: 2, at: t0)
    #expect(later == .forward(port: 0, vlan: 1))
    #expect(copy.counters[2].receivedPackets == 0)
    #expect(copy.table.lookup(hostC, vlan: 1, at: t0) == nil)
  }

  @Test func startsWithItsPortsUpAndCountersZero() {
    let bridge = makeBridge(vlans: [1, 1, 20], macTableSize: 16, macAging: .seconds(30))
    #expect(bridge.name == "core")
    #expect(bridge.portCount == 3)
    #expect(bridge.ports.map(\.name) == ["p0", "p1", "p2"])
    #expect(bridge.ports.map(\.accessVLAN) == [1, 1, 20])
    #expect(bridge.ports.map(\.isUp) == [true, true, true])
    #expect(bridge.counters == Array(repeating: PortCounters(), count: 3))
    #expect(bridge.table.capacity == 16)
    #expect(bridge.table.agingNanoseconds == 30_000_000_000)
    #expect(bridge.table.count == 0)

    let defaults = Bridge(name: "d", ports: [BridgePortConfiguration(name: "only")])
    #expect(defaults.ports == [BridgePortConfiguration(name: "only", accessVLAN: 1, isUp: true)])
    #expect(defaults.table.capacity == 8192)
    #expect(defaults.table.agingNanoseconds == 300_000_000_000)
  }

  // MARK: Learning and forwarding

  @Test func floodsUnknownThenForwardsLearned() {
    var bridge = makeBridge(vlans: [1, 1, 1, 1])
    #expect(bridge.receive(frame(from: hostA, to: hostB), on: 0, at: t0) == .flood(vlan: 1))
    #expect(bridge.floodSet(vlan: 1, from: 0) == [1, 2, 3])
    #expect(
      bridge.receive(frame(from: hostB, to: hostA), on: 2, at: t0 + .milliseconds(1))
        == .forward(port: 0, vlan: 1))
    #expect(
      bridge.receive(frame(from: hostA, to: hostB), on: 0, at: t0 + .milliseconds(2))
        == .forward(port: 2, vlan: 1))
    #expect(
      bridge.receive(frame(from: hostA, to: hostB), on: 0, at: t0 + .milliseconds(3))
        == .forward(port: 2, vlan: 1))

    #expect(bridge.counters[0].receivedPackets == 3)
    #expect(bridge.counters[0].receivedBytes == 180)
    #expect(bridge.counters[0].floodedPackets == 1)
    #expect(bridge.counters[0].droppedPackets == 0)
    #expect(bridge.counters[2].receivedPackets == 1)
    #expect(bridge.counters[2].receivedBytes == 60)
    #expect(bridge.counters[2].floodedPackets == 0)
    #expect(bridge.counters[1] == PortCounters())
    #expect(bridge.counters[3] == PortCounters())
    #expect(bridge.table.count == 2)
    #expect(bridge.table.statistics.learned == 2)
    #expect(bridge.table.statistics.moved == 0)
    #expect(bridge.table.lookup(hostA, vlan: 1, at: t0) == 0)
    #expect(bridge.table.lookup(hostB, vlan: 1, at: t0) == 2)
  }

  @Test func aMonitorPortGetsNoSwitchedFramesAndItsOwnAreDroppedAndCounted() {
    var bridge = makeBridge(vlans: [1, 1, 1])
    // Port 2 learned a MAC before it became a monitor: that entry must go.
    #expect(bridge.receive(frame(from: hostC, to: hostA), on: 2, at: t0) == .flood(vlan: 1))
    bridge.makeMonitor(2)
    #expect(bridge.isMonitor(2) && !bridge.isMonitor(0))
    #expect(bridge.table.lookup(hostC, vlan: 1, at: t0) == nil)
    #expect(bridge.floodSet(vlan: 1, from: 0) == [1])
    #expect(
      bridge.receive(frame(from: hostC, to: hostA), on: 2, at: t0) == .drop(.monitorPort))
    #expect(bridge.counters[2][dropped: .monitorPort] == 1)
    #expect(bridge.table.lookup(hostC, vlan: 1, at: t0) == nil)
    // Traffic between the other ports is untouched.
    #expect(bridge.receive(frame(from: hostA, to: hostB), on: 0, at: t0) == .flood(vlan: 1))
    #expect(
      bridge.receive(frame(from: hostB, to: hostA), on: 1, at: t0) == .forward(port: 0, vlan: 1))
  }

  @Test func floodSetIsEveryOtherUpPortOfTheVLAN() {
    var bridge = makeBridge(vlans: [1, 1, 1, 1])
    #expect(bridge.floodSet(vlan: 1, from: 0) == [1, 2, 3])
    #expect(bridge.floodSet(vlan: 1, from: 2) == [0, 1, 3])
    #expect(bridge.floodSet(vlan: 2, from: 0) == [])
    #expect(!bridge.floods(to: 0, vlan: 1, from: 0))
    #expect(bridge.floods(to: 1, vlan: 1, from: 0))
    #expect(!bridge.floods(to: 1, vlan: 2, from: 0))
    bridge.setPort(3, isUp: false)
    #expect(bridge.ports[3].isUp == false)
    #expect(bridge.floodSet(vlan: 1, from: 0) == [1, 2])
    #expect(!bridge.floods(to: 3, vlan: 1, from: 0))
    bridge.setPort(3, isUp: true)
    #expect(bridge.floodSet(vlan: 1, from: 0) == [1, 2, 3])
  }

  @Test func portsConfiguredDownTakeAndGetNothing() {
    var bridge = Bridge(
      name: "core",
      ports: [
        BridgePortConfiguration(name: "p0"), BridgePortConfiguration(name: "p1", isUp: false),
        BridgePortConfiguration(name: "p2"),
      ])
    #expect(bridge.floodSet(vlan: 1, from: 0) == [2])
    #expect(bridge.receive(frame(from: hostA, to: hostB), on: 1, at: t0) == .drop(.portDown))
    #expect(bridge.counters[1][dropped: .portDown] == 1)
  }

  @Test func broadcastAndMulticastFlood() {
    var bridge = makeBridge(vlans: [1, 1, 1])
    #expect(bridge.receive(frame(from: hostA, to: .broadcast), on: 1, at: t0) == .flood(vlan: 1))
    let mdns = MACAddress(0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB)
    #expect(bridge.receive(frame(from: hostA, to: mdns), on: 1, at: t0) == .flood(vlan: 1))
    let ipv6AllNodes = MACAddress(0x33, 0x33, 0x00, 0x00, 0x00, 0x01)
    #expect(bridge.receive(frame(from: hostA, to: ipv6AllNodes), on: 1, at: t0) == .flood(vlan: 1))
    #expect(bridge.counters[1].floodedPackets == 3)
    #expect(bridge.counters[1].receivedPackets == 3)
    #expect(bridge.counters[1].droppedPackets == 0)
    // The sender is learned from a broadcast all the same.
    #expect(bridge.table.lookup(hostA, vlan: 1, at: t0) == 1)
  }

  @Test func anAddressThatMovesIsFollowed() {
    var bridge = makeBridge(vlans: [1, 1, 1])
    #expect(bridge.receive(frame(from: hostA, to: .broadcast), on: 0, at: t0) == .flood(vlan: 1))
    #expect(
      bridge.receive(frame(from: hostA, to: .broadcast), on: 1, at: t0 + .seconds(1))
        == .flood(vlan: 1))
    #expect(bridge.table.statistics.moved == 1)
    #expect(bridge.table.statistics.learned == 1)
    #expect(
      bridge.receive(frame(from: hostB, to: hostA), on: 2, at: t0 + .seconds(2))
        == .forward(port: 1, vlan: 1))
    #expect(bridge.table.lookup(hostA, vlan: 1, at: t0 + .seconds(2)) == 1)
  }

  @Test func learnedEntriesAgeOutAtExactlyTheAgingTime() {
    var bridge = makeBridge(vlans: [1, 1, 1])
    #expect(bridge.receive(frame(from: hostB, to: .broadcast), on: 2, at: t0) == .flood(vlan: 1))
    #expect(
      bridge.receive(
        frame(from: hostA, to: hostB), on: 0, at: t0 + (.seconds(300) - .nanoseconds(1)))
        == .forward(port: 2, vlan: 1))
    #expect(
      bridge.receive(frame(from: hostA, to: hostB), on: 0, at: t0 + .seconds(300))
        == .flood(vlan: 1))
    #expect(bridge.expireEntries(at: t0 + .seconds(300)) == 1)
    #expect(bridge.table.statistics.expired == 1)
    #expect(bridge.table.count == 1)
    #expect(bridge.table.lookup(hostA, vlan: 1, at: t0 + .seconds(300)) == 0)
    #expect(bridge.counters[0].floodedPackets == 1)
  }

  // MARK: Static entries

  @Test func staticEntriesNeverAgeAndCannotBeStolen() {
    var bridge = makeBridge(vlans: [1, 1, 1])
    let server = hostC
    #expect(bridge.addStaticEntry(server, port: 1) == true)
    let tenYears = t0 + .seconds(10 * 365 * 24 * 3_600)
    #expect(bridge.expireEntries(at: tenYears) == 0)
    #expect(bridge.table.lookup(server, vlan: 1, at: tenYears) == 1)
    #expect(
      bridge.receive(frame(from: hostA, to: server), on: 0, at: tenYears)
        == .forward(port: 1, vlan: 1))

    // Someone on port 2 claims the server's address: dropped, and the entry stays put.
    #expect(
      bridge.receive(frame(from: server, to: hostA), on: 2, at: tenYears) == .drop(.staticConflict))
    #expect(bridge.counters[2][dropped: .staticConflict] == 1)
    #expect(bridge.counters[2].droppedPackets == 1)
    #expect(bridge.table.lookup(server, vlan: 1, at: tenYears) == 1)
    #expect(bridge.table.statistics.moved == 0)

    // From its own port it is forwarded normally.
    #expect(
      bridge.receive(frame(from: server, to: hostA), on: 1, at: tenYears)
        == .forward(port: 0, vlan: 1))
    #expect(bridge.counters[1].droppedPackets == 0)
    #expect(bridge.table.staticCount == 1)
    #expect(bridge.table.learnedCount == 1)
  }

  @Test func staticEntriesSurviveAFullLearnedTable() {
    var bridge = makeBridge(vlans: [1, 1], macTableSize: 4)
    #expect(bridge.addStaticEntry(hostC, port: 1) == true)
    for n in 0..<10 {
      let source = MACAddress(rawValue: 0x0200_0000_1000 + UInt64(n))
      #expect(
        bridge.receive(frame(from: source, to: .broadcast), on: 0, at: t0 + .seconds(Int64(n)))
          == .flood(vlan: 1))
      #expect(bridge.table.learnedCount <= 4)
    }
    #expect(bridge.table.count == 5)
    #expect(bridge.table.statistics.evicted == 6)
    #expect(
      bridge.receive(frame(from: hostA, to: hostC), on: 0, at: t0 + .seconds(10))
        == .forward(port: 1, vlan: 1))
  }

  // MARK: Drops

  @Test func runtsAreDropped() {
    var bridge = makeBridge(vlans: [1, 1, 1])
    let whole = frame(from: hostA, to: hostB)
    let untaggedHeader = Array(whole.prefix(14))
    let runts: [[UInt8]] = [
      [],
      [0x02],
      Array(whole.prefix(13)),
      // 0x8100 declares a tag, but the frame ends there.
      Array(untaggedHeader.prefix(12)) + [0x81, 0x00],
      // Tag control information present, inner EtherType cut short.
      Array(untaggedHeader.prefix(12)) + [0x81, 0x00, 0x00, 0x00, 0x08],
      // An 802.1ad outer tag whose inner 802.1Q tag is cut short.
      Array(untaggedHeader.prefix(12)) + [0x88, 0xA8, 0x00, 0x00, 0x81, 0x00, 0x00],
    ]
    #expect(runts.map(\.count) == [0, 1, 13, 14, 17, 19])
    for runt in runts {
      #expect(bridge.receive(runt, on: 1, at: t0) == .drop(.runt), "\(runt.count) bytes")
    }
    #expect(bridge.counters[1].receivedPackets == 6)
    #expect(bridge.counters[1].receivedBytes == 64)
    #expect(bridge.counters[1][dropped: .runt] == 6)
    #expect(bridge.counters[1].droppedPackets == 6)
    #expect(bridge.counters[1].floodedPackets == 0)
    #expect(bridge.table.count == 0)

    // A bare header, and a bare priority-tagged header, are not runts.
    #expect(bridge.receive(untaggedHeader, on: 1, at: t0) == .flood(vlan: 1))
    let priorityTagged = Array(untaggedHeader.prefix(12)) + [0x81, 0x00, 0x00, 0x00, 0x08, 0x00]
    #expect(priorityTagged.count == 18)
    #expect(bridge.receive(priorityTagged, on: 1, at: t0) == .flood(vlan: 1))
    #expect(bridge.counters[1][dropped: .runt] == 6)
    #expect(bridge.counters[1].floodedPackets == 2)
  }

  @Test func invalidSourcesAreDroppedAndNotLearned() {
    var bridge = makeBridge(vlans: [1, 1])
    let sources = [MACAddress(0x01, 0x00, 0x5E, 0x00, 0x00, 0x01), .broadcast, .zero]
    for source in sources {
      #expect(
        bridge.receive(frame(from: source, to: hostB), on: 0, at: t0) == .drop(.invalidSource),
        "\(source)")
    }
    #expect(bridge.counters[0][dropped: .invalidSource] == 3)
    #expect(bridge.counters[0].droppedPackets == 3)
    #expect(bridge.counters[0].receivedPackets == 3)
    #expect(bridge.table.count == 0)
    #expect(bridge.table.statistics.learned == 0)
  }

  @Test func reservedGroupAddressesAreDroppedOthersFlooded() {
    var bridge = makeBridge(vlans: [1, 1])
    let stp = MACAddress(0x01, 0x80, 0xC2, 0x00, 0x00, 0x00)
    let lldp = MACAddress(0x01, 0x80, 0xC2, 0x00, 0x00, 0x0E)
    let lastReserved = MACAddress(0x01, 0x80, 0xC2, 0x00, 0x00, 0x0F)
    let firstAfter = MACAddress(0x01, 0x80, 0xC2, 0x00, 0x00, 0x10)
    #expect(bridge.receive(frame(from: hostA, to: stp), on: 0, at: t0) == .drop(.reservedGroup))
    #expect(bridge.receive(frame(from: hostA, to: lldp), on: 0, at: t0) == .drop(.reservedGroup))
    #expect(
      bridge.receive(frame(from: hostA, to: lastReserved), on: 0, at: t0) == .drop(.reservedGroup))
    #expect(bridge.receive(frame(from: hostA, to: firstAfter), on: 0, at: t0) == .flood(vlan: 1))
    #expect(bridge.counters[0][dropped: .reservedGroup] == 3)
    #expect(bridge.counters[0].droppedPackets == 3)
    #expect(bridge.counters[0].floodedPackets == 1)
    #expect(bridge.counters[0].receivedPackets == 4)
  }

  @Test func aDestinationOnTheIngressPortIsDropped() {
    var bridge = makeBridge(vlans: [1, 1])
    #expect(bridge.receive(frame(from: hostA, to: .broadcast), on: 0, at: t0) == .flood(vlan: 1))
    #expect(bridge.receive(frame(from: hostB, to: .broadcast), on: 0, at: t0) == .flood(vlan: 1))
    #expect(bridge.receive(frame(from: hostA, to: hostB), on: 0, at: t0) == .drop(.samePort))
    #expect(bridge.counters[0][dropped: .samePort] == 1)
    #expect(bridge.counters[0].droppedPackets == 1)
    #expect(bridge.counters[0].floodedPackets == 2)
    #expect(bridge.counters[1] == PortCounters())
  }

  @Test func framesFromADownPortAreDroppedAndNotLearned() {
    var bridge = makeBridge(vlans: [1, 1, 1])
    bridge.setPort(1, isUp: false)
    #expect(bridge.receive(frame(from: hostA, to: hostB), on: 1, at: t0) == .drop(.portDown))
    // A down port takes nothing, not even something malformed.
    #expect(bridge.receive([0x02], on: 1, at: t0) == .drop(.portDown))
    #expect(bridge.counters[1].receivedPackets == 2)
    #expect(bridge.counters[1].receivedBytes == 61)
    #expect(bridge.counters[1][dropped: .portDown] == 2)
    #expect(bridge.counters[1][dropped: .runt] == 0)
    #expect(bridge.table.count == 0)
  }

  @Test func goingDownFlushesLearnedEntriesButNotStaticOnes() {
    var bridge = makeBridge(vlans: [1, 1, 1, 1])
    #expect(bridge.receive(frame(from: hostA, to: .broadcast), on: 0, at: t0) == .flood(vlan: 1))
    #expect(bridge.receive(frame(from: hostB, to: .broadcast), on: 2, at: t0) == .flood(vlan: 1))
    #expect(bridge.addStaticEntry(hostC, port: 2) == true)
    #expect(
      bridge.receive(frame(from: hostA, to: hostB), on: 0, at: t0) == .forward(port: 2, vlan: 1))

    bridge.setPort(2, isUp: false)
    #expect(bridge.table.statistics.flushed == 1)
    #expect(bridge.table.lookup(hostB, vlan: 1, at: t0) == nil)
    #expect(bridge.table.lookup(hostC, vlan: 1, at: t0) == 2)
    #expect(bridge.table.lookup(hostA, vlan: 1, at: t0) == 0)
    // The learned destination is gone with its port: flooded, but not to the down port.
    #expect(bridge.receive(frame(from: hostA, to: hostB), on: 0, at: t0) == .flood(vlan: 1))
    #expect(bridge.floodSet(vlan: 1, from: 0) == [1, 3])
    // The static destination stays on its down port: dropped, counted on the ingress port.
    #expect(bridge.receive(frame(from: hostA, to: hostC), on: 0, at: t0) == .drop(.portDown))
    #expect(bridge.counters[0][dropped: .portDown] == 1)
    #expect(bridge.counters[2].droppedPackets == 0)

    // Bringing an up port up again forgets nothing.
    bridge.setPort(0, isUp: true)
    #expect(bridge.table.lookup(hostA, vlan: 1, at: t0) == 0)
    #expect(bridge.table.statistics.flushed == 1)

    bridge.setPort(2, isUp: true)
    #expect(
      bridge.receive(frame(from: hostA, to: hostC), on: 0, at: t0) == .forward(port: 2, vlan: 1))
    #expect(
      bridge.receive(frame(from: hostB, to: hostA), on: 2, at: t0) == .forward(port: 0, vlan: 1))
    #expect(bridge.table.lookup(hostB, vlan: 1, at: t0) == 2)
  }

  @Test func taggedFramesAreDroppedOnAccessPortsPriorityTaggedAccepted() {
    var bridge = makeBridge(vlans: [10, 10])
    let tagged: [VLANTag] = [
      VLANTag(vlanID: 10),
      VLANTag(vlanID: 20, priority: 3),
      VLANTag(vlanID: 4094),
      VLANTag(protocolID: .serviceVLAN, vlanID: 10),
    ]
    for tag in tagged {
      #expect(
        bridge.receive(frame(from: hostA, to: hostB, tag: tag), on: 0, at: t0)
          == .drop(.taggedOnAccessPort), "\(tag)")
    }
    #expect(bridge.counters[0][dropped: .taggedOnAccessPort] == 4)
    #expect(bridge.table.count == 0)

    // VLAN 0 only carries a priority: the frame belongs to the port's access VLAN.
    let priorityTagged = frame(from: hostA, to: hostB, tag: VLANTag(vlanID: 0, priority: 5))
    #expect(bridge.receive(priorityTagged, on: 0, at: t0) == .flood(vlan: 10))
    #expect(bridge.table.lookup(hostA, vlan: 10, at: t0) == 0)
    #expect(
      bridge.receive(frame(from: hostB, to: hostA), on: 1, at: t0) == .forward(port: 0, vlan: 10))
    #expect(bridge.counters[0].receivedPackets == 5)
    #expect(bridge.counters[0].receivedBytes == 5 * 64)
    #expect(bridge.counters[0].droppedPackets == 4)
    #expect(bridge.counters[0].floodedPackets == 1)
  }

  @Test func aPriorityTagHidingAVLANTagIsDroppedOnAccessPorts() {
    var bridge = makeBridge(vlans: [10, 10])
    // 0x8100 VID 0 (priority only), then 0x8100 VID 20: a double-tag hop attempt.
    let header: [UInt8] = [
      0x02, 0, 0, 0, 0, 0x0B, 0x02, 0, 0, 0, 0, 0x0A,
      0x81, 0x00, 0xA0, 0x00,
      0x81, 0x00, 0x00, 0x14,
      0x08, 0x00,
    ]
    let bytes = header + [UInt8](repeating: 0, count: 46)
    #expect(bridge.receive(bytes, on: 0, at: t0) == .drop(.taggedOnAccessPort))
    #expect(bridge.counters[0][dropped: .taggedOnAccessPort] == 1)
    #expect(bridge.table.count == 0)
  }

  // MARK: Counters

  @Test func everyReceivedFrameIsCountedDroppedOrNot() {
    var bridge = makeBridge(vlans: [1, 1])
    let frames: [(bytes: [UInt8], decision: ForwardingDecision)] = [
      (frame(from: hostA, to: .broadcast), .flood(vlan: 1)),
      (Array(frame(from: hostA, to: hostB).prefix(13)), .drop(.runt)),
      (frame(from: .broadcast, to: hostB), .drop(.invalidSource)),
      (frame(from: hostA, to: MACAddress(0x01, 0x80, 0xC2, 0, 0, 0x02)), .drop(.reservedGroup)),
      (frame(from: hostA, to: hostB, tag: VLANTag(vlanID: 10)), .drop(.taggedOnAccessPort)),
      (frame(from: hostA, to: hostA), .drop(.samePort)),
    ]
    for (bytes, decision) in frames {
      #expect(bridge.receive(bytes, on: 0, at: t0) == decision)
    }
    let counters = bridge.counters[0]
    #expect(counters.receivedPackets == 6)
    #expect(counters.receivedBytes == 60 + 13 + 60 + 60 + 64 + 60)
    #expect(counters.floodedPackets == 1)
    #expect(counters.droppedPackets == 5)
    #expect(counters.transmittedPackets == 0)
    #expect(counters.transmittedBytes == 0)
    #expect(
      counters.dropsByReason.map(\.reason) == [
        .runt, .invalidSource, .reservedGroup, .samePort, .taggedOnAccessPort,
      ])
    #expect(counters.dropsByReason.map(\.count) == [1, 1, 1, 1, 1])
    #expect(bridge.counters[1] == PortCounters())
  }

  @Test func transmitsAndIOLayerDropsAreCountedOnTheirPort() {
    var bridge = makeBridge(vlans: [1, 1, 1, 1])
    bridge.countTransmitted(byteCount: 60, on: 1)
    bridge.countTransmitted(byteCount: 1_514, on: 1)
    bridge.countTransmitted(byteCount: 64, on: 2)
    bridge.countTransmitDrop(.transmitFailed, on: 1)
    bridge.countRejected(.runt, byteCount: 9, on: 3)
    bridge.countRejected(.oversize, byteCount: 9_014, on: 3)
    #expect(bridge.counters[1].transmittedPackets == 2)
    #expect(bridge.counters[1].transmittedBytes == 1_574)
    #expect(bridge.counters[1][transmitDropped: .transmitFailed] == 1)
    #expect(bridge.counters[1].transmitDroppedPackets == 1)
    #expect(bridge.counters[1].droppedPackets == 0, "a lost transmit is no received frame's drop")
    #expect(bridge.counters[1].receivedPackets == 0)
    #expect(bridge.counters[2].transmittedPackets == 1)
    #expect(bridge.counters[2].transmittedBytes == 64)
    #expect(bridge.counters[2].droppedPackets == 0)
    #expect(bridge.counters[3][dropped: .runt] == 1)
    #expect(bridge.counters[3][dropped: .oversize] == 1)
    #expect(bridge.counters[3].receivedPackets == 2, "a rejected frame was still received")
    #expect(bridge.counters[3].receivedBytes == 9_023)
    #expect(bridge.counters[3].addsUp)
    #expect(bridge.counters[0] == PortCounters())
  }

  @Test func everyReceivedFrameIsForwardedFloodedOrDropped() {
    var bridge = makeBridge(vlans: [1, 1, 2, 1])
    _ = bridge.receive(frame(from: hostA, to: hostB), on: 0, at: t0)  // flooded
    _ = bridge.receive(frame(from: hostB, to: hostA), on: 1, at: t0)  // forwarded
    _ = bridge.receive([0x01, 0x02], on: 0, at: t0)  // runt
    #expect(bridge.counters[0].forwardedPackets == 0)
    #expect(bridge.counters[0].floodedPackets == 1)
    #expect(bridge.counters[0].droppedPackets == 1)
    #expect(bridge.counters[0].receivedPackets == 2)
    #expect(bridge.counters[0].addsUp)
    #expect(bridge.counters[1].forwardedPackets == 1)
    #expect(bridge.counters[1].addsUp)
    // Alone in VLAN 2, port 2's flood reaches nobody: the I/O layer turns it into a drop.
    #expect(bridge.receive(frame(from: hostC, to: hostA), on: 2, at: t0) == .flood(vlan: 2))
    bridge.countUndelivered(on: 2)
    #expect(bridge.counters[2].floodedPackets == 0)
    #expect(bridge.counters[2][dropped: .noDestination] == 1)
    #expect(bridge.counters[2].addsUp)
  }

  // MARK: VLANs

  @Test func vlansAreSeparateBroadcastDomains() {
    var bridge = makeBridge(vlans: [10, 10, 20, 20, 10, 30])
    #expect(bridge.receive(frame(from: hostA, to: .broadcast), on: 0, at: t0) == .flood(vlan: 10))
    #expect(bridge.floodSet(vlan: 10, from: 0) == [1, 4])
    #expect(bridge.receive(frame(from: hostC, to: .broadcast), on: 2, at: t0) == .flood(vlan: 20))
    #expect(bridge.floodSet(vlan: 20, from: 2) == [3])
    // Alone in its VLAN: nothing to flood to (the I/O layer counts no-destination).
    #expect(bridge.receive(frame(from: hostB, to: .broadcast), on: 5, at: t0) == .flood(vlan: 30))
    #expect(bridge.floodSet(vlan: 30, from: 5) == [])
    #expect(bridge.floods(to: 2, vlan: 10, from: 0) == false)
    #expect(bridge.floods(to: 4, vlan: 10, from: 0) == true)
  }

  @Test func anAddressLearnedInOneVLANIsUnknownInAnother() {
    var bridge = makeBridge(vlans: [10, 10, 20, 20])
    #expect(bridge.receive(frame(from: hostA, to: .broadcast), on: 0, at: t0) == .flood(vlan: 10))
    #expect(bridge.table.lookup(hostA, vlan: 10, at: t0) == 0)
    #expect(bridge.table.lookup(hostA, vlan: 20, at: t0) == nil)
    #expect(bridge.receive(frame(from: hostC, to: hostA), on: 2, at: t0) == .flood(vlan: 20))
    #expect(bridge.floodSet(vlan: 20, from: 2) == [3])
    #expect(
      bridge.receive(frame(from: hostB, to: hostA), on: 1, at: t0) == .forward(port: 0, vlan: 10))

    // The same address turning up in VLAN 20 is a second entry, not a move.
    #expect(bridge.receive(frame(from: hostA, to: .broadcast), on: 3, at: t0) == .flood(vlan: 20))
    #expect(bridge.table.statistics.moved == 0)
    #expect(bridge.table.count == 4)
    #expect(
      bridge.receive(frame(from: hostB, to: hostA), on: 1, at: t0) == .forward(port: 0, vlan: 10))
    #expect(
      bridge.receive(frame(from: hostC, to: hostA), on: 2, at: t0) == .forward(port: 3, vlan: 20))
  }

  @Test func theSameAddressInTwoVLANsOnTwoPortsIsTwoEntries() {
    var bridge = Bridge(
      name: "core",
      ports: [
        BridgePortConfiguration(name: "p0", accessVLAN: 10),
        BridgePortConfiguration(name: "p1", accessVLAN: 20),
        BridgePortConfiguration(
          name: "p2", mode: .trunk(allowed: .all, native: nil, nativeTagged: false)),
      ])
    let broadcast = bytes(broadcastFromA, ipv4Payload)
    let from0 = bridge.switchFrame(broadcast, on: 0, at: t0)
    #expect(from0.decision == .flood(vlan: 10))
    let from1 = bridge.switchFrame(broadcast, on: 1, at: t0)
    #expect(from1.decision == .flood(vlan: 20))
    #expect(bridge.table.statistics.moved == 0)
    #expect(bridge.table.count == 2)
    #expect(bridge.table.lookup(hostA, vlan: 10, at: t0) == 0)
    #expect(bridge.table.lookup(hostA, vlan: 20, at: t0) == 1)

    // From the trunk, each VLAN's unicast goes to that VLAN's A, untagged.
    let toA = bytes(toAFromB, ipv4Payload)
    let in10 = bridge.switchFrame(bytes(toAFromB, [0x81, 0x00, 0x00, 0x0A], ipv4Payload), on: 2)
    #expect(in10.decision == .forward(port: 0, vlan: 10))
    #expect(in10.sent == [0: toA])
    let in20 = bridge.switchFrame(bytes(toAFromB, [0x81, 0x00, 0x00, 0x14], ipv4Payload), on: 2)
    #expect(in20.decision == .forward(port: 1, vlan: 20))
    #expect(in20.sent == [1: toA])
    // In a third VLAN A is unknown, and the trunk is alone in it.
    let in30 = bridge.switchFrame(bytes(toAFromB, [0x81, 0x00, 0x00, 0x1E], ipv4Payload), on: 2)
    #expect(in30.decision == .flood(vlan: 30))
    #expect(in30.sent == [:])
    #expect(
      bridge.table.entries(at: t0).map { "\($0.mac) \($0.vlan) \($0.port)" } == [
        "02:00:00:00:00:0a 10 0", "02:00:00:00:00:0b 10 2",
        "02:00:00:00:00:0a 20 1", "02:00:00:00:00:0b 20 2",
        "02:00:00:00:00:0b 30 2",
      ])

    // A moving in VLAN 10 leaves A in VLAN 20 where it was.
    let moved = bridge.switchFrame(
      bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x0A], ipv4Payload), on: 2)
    #expect(moved.decision == .flood(vlan: 10))
    #expect(bridge.table.statistics.moved == 1)
    #expect(bridge.table.lookup(hostA, vlan: 10, at: t0) == 2)
    #expect(bridge.table.lookup(hostA, vlan: 20, at: t0) == 1)
  }

  @Test func floodSetsFollowEachVLANAcrossPortModes() {
    var bridge = Bridge(
      name: "core",
      ports: [
        BridgePortConfiguration(name: "p0", accessVLAN: 10),
        BridgePortConfiguration(name: "p1", accessVLAN: 20),
        BridgePortConfiguration(
          name: "p2", mode: .trunk(allowed: VLANBitmap([10, 20]), native: 10, nativeTagged: false)),
        BridgePortConfiguration(
          name: "p3", mode: .trunk(allowed: .all, native: nil, nativeTagged: false)),
        BridgePortConfiguration(
          name: "p4", mode: .dot1qTunnel(serviceVLAN: 20, tagType: .serviceVLAN)),
        BridgePortConfiguration(
          name: "p5", mode: .trunk(allowed: VLANBitmap([30]), native: nil, nativeTagged: false)),
        BridgePortConfiguration(
          name: "p6", mode: .dot1qTunnel(serviceVLAN: 300, tagType: .serviceVLAN)),
        BridgePortConfiguration(name: "p7", accessVLAN: 10, isUp: false),
      ])
    let cases: [(vlan: UInt16, from: Int, ports: [Int])] = [
      (10, 0, [2, 3]),
      (10, 2, [0, 3]),
      (10, 3, [0, 2]),
      (20, 1, [2, 3, 4]),
      (20, 4, [1, 2, 3]),
      (30, 3, [5]),
      (30, 5, [3]),
      (300, 6, [3]),
      (300, 3, [6]),
      (100, 3, []),
    ]
    for (vlan, from, ports) in cases {
      #expect(bridge.floodSet(vlan: vlan, from: from) == ports, "VLAN \(vlan) from p\(from)")
    }

    // A broadcast from the access port of VLAN 10, as each port sends it.
    let untagged = bytes(broadcastFromA, ipv4Payload)
    let tagged10 = bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x0A], ipv4Payload)
    let whileDown = bridge.switchFrame(untagged, on: 0, at: t0)
    #expect(whileDown.sent == [2: untagged, 3: tagged10])
    bridge.setPort(7, isUp: true)
    #expect(bridge.floodSet(vlan: 10, from: 0) == [2, 3, 7])
    let whileUp = bridge.switchFrame(untagged, on: 0, at: t0)
    #expect(whileUp.sent == [2: untagged, 3: tagged10, 7: untagged])
    // The tunnel's customers reach VLAN 20's access port as they are, and trunks in S-VLAN 20.
    let customer = bytes(broadcastFromA, [0x81, 0x00, 0x00, 0x64], ipv4Payload)
    let fromTunnel = bridge.switchFrame(customer, on: 4, at: t0)
    #expect(
      fromTunnel.sent == [
        1: customer,
        2: bytes(broadcastFromA, [0x88, 0xA8, 0x00, 0x14], [0x81, 0x00, 0x00, 0x64], ipv4Payload),
        3: bytes(broadcastFromA, [0x88, 0xA8, 0x00, 0x14], [0x81, 0x00, 0x00, 0x64], ipv4Payload),
      ])
  }
}
