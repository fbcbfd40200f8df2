import PatchbayWire

/// What `Bridge.process(_:on:at:into:)` decides for one frame of a batch: the
/// same pair `Bridge.process(_:on:at:)` returns for it.
public typealias BatchDecision = (decision: ForwardingDecision, ingress: IngressFrame)

// The forwarding decision for a batch of frames from one port (issue 21): what
// `process(_:on:at:)` checks once per frame, paid once per batch. A datapath
// reads a burst of frames from a port in one wakeup; they share the ingress
// port, its mode, its guards and `now`, so the uniqueness checks, the port
// check, the port's state and the receive counters are read and written once.
//
// The fast loop covers the frames that are most of a lab's traffic: untagged,
// from an up access port without port security. Every other frame (tagged,
// short, or from a trunk, a tunnel or a guarded port) takes `process` itself,
// so there is one set of rules; the tests hold the two to the same results and
// counters frame by frame.
extension Bridge {
  /// Decides `frames`, received in this order on `port` at `now`, exactly as
  /// calling `process(_:on:at:)` on each in turn would, learning and counting
  /// the same; writes decision `i` to `results[i]`.
  public mutating func process(
    _ frames: UnsafeBufferPointer<UnsafeRawBufferPointer>, on port: Int, at now: Instant,
    into results: UnsafeMutablePointer<BatchDecision>
  ) {
    makePortTableUnique()
    table.makeUnique()
    let state = portTable.states[checked(port)]
    guard state.isUp && state.kind == .access && state.guards.rawValue == 0 else {
      for index in frames.indices { results[index] = process(frames[index], on: port, at: now) }
      return
    }
    let vlan = state.vlan
    let ingress = IngressFrame(vlan: vlan, tagControl: vlan, tagType: .vlan, strippedTagLength: 0)
    let vlanKey = UInt64(vlan & 0x0FFF) << 48
    let nanoseconds = now.nanoseconds
    // Read once: see `MACTable.BatchView` and `PortTable` for why they stay
    // valid through the batch (nothing in it copies either). Pointers only:
    // holding a second reference to either storage would make the next
    // uniqueness check copy it.
    let view = table.batchView
    let ports = PortView(
      count: portTable.count, states: portTable.states, memberWords: portTable.memberWords)
    // Counted here and written once, after the loop; a frame that takes
    // `process` counts itself, and a drop takes its frame back out of
    // `forwardedPackets` (wrapping arithmetic: the sum comes out right).
    var received: UInt64 = 0
    var bytes: UInt64 = 0
    var flooded: UInt64 = 0
    for index in frames.indices {
      let frame = frames[index]
      guard frame.count >= EthernetFrame.headerLength,
        !EtherType(rawValue: frame.bigEndianUInt16(at: EthernetFrame.Offset.etherType)).isVLANTag
      else {
        results[index] = process(frame, on: port, at: now)
        continue
      }
      received &+= 1
      bytes &+= UInt64(frame.count)
      let source = MACAddress(unchecked: frame, at: EthernetFrame.Offset.source)
      guard source.isValidSource else {
        results[index] = drop(.invalidSource, on: port, ingress)
        continue
      }
      let key = vlanKey | source.rawValue
      let found = table.refreshInPlace(key, on: port, at: nanoseconds, through: view)
      if found != MACTable.refreshed, let reason = learnChange(key, found, on: port, at: now) {
        results[index] = drop(reason, on: port, ingress)
        continue
      }
      let destination = MACAddress(unchecked: frame, at: EthernetFrame.Offset.destination)
      if destination.isMulticast {
        if destination.isReservedGroup {
          results[index] = drop(.reservedGroup, on: port, ingress)
          continue
        }
        flooded &+= 1
        results[index] = (.flood(vlan: vlan), ingress)
        continue
      }
      let egress = view.port(of: vlanKey | destination.rawValue, at: nanoseconds)
      guard egress >= 0 else {
        flooded &+= 1
        results[index] = (.flood(vlan: vlan), ingress)
        continue
      }
      results[index] = decide(egress, from: port, vlan: vlan, ingress, ports)
    }
    let counted = ports.states + port
    counted.pointee.receivedPackets &+= received
    counted.pointee.receivedBytes &+= bytes
    counted.pointee.forwardedPackets &+= received &- flooded
    counted.pointee.floodedPackets &+= flooded
  }

  /// The port table's pointers, for one batch.
  struct PortView {
    let count: Int
    let states: UnsafeMutablePointer<PortState>
    let memberWords: UnsafeMutablePointer<UInt64>
  }

  /// The egress checks of a known destination on `egress`, for an untagged
  /// frame of `vlan` from unguarded access port `port` (so the protected-port
  /// and double-tagging checks cannot apply).
  @inline(__always)
  private mutating func decide(
    _ egress: Int, from port: Int, vlan: UInt16, _ ingress: IngressFrame, _ ports: PortView
  ) -> BatchDecision {
    if egress == port { return drop(.samePort, on: port, ingress) }
    precondition(UInt(bitPattern: egress) < UInt(bitPattern: ports.count), "no such port")
    guard ports.states[egress].isUp else { return drop(.portDown, on: port, ingress) }
    let word = ports.memberWords[egress &* VLANBitmap.wordCount &+ Int((vlan & 0x0FFF) >> 6)]
    guard word >> UInt64(vlan & 63) & 1 == 1 else {
      return drop(.vlanNotAllowed, on: port, ingress)
    }
    return (.forward(port: egress, vlan: vlan), ingress)
  }
}
