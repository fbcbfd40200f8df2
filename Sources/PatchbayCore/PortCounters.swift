/// Per-port packet, byte and drop counters, owned by the datapath thread.
///
/// Plain integers in a fixed-size value: updating one is a store, never an
/// allocation or a reference count. The control plane reads copies.
///
/// Every frame received on a port has exactly one fate, so the receive side
/// adds up: `receivedPackets == forwardedPackets + floodedPackets + droppedPackets`
/// (`addsUp`). Frames bound out of the port and lost there (its queue full, its
/// interface gone) are counted apart, as transmit drops.
public struct PortCounters: Sendable, Equatable {
  /// Frames received from the port (including those then dropped).
  public var receivedPackets: UInt64 = 0
  /// Bytes received from the port.
  public var receivedBytes: UInt64 = 0
  /// Frames sent out of the port.
  public var transmittedPackets: UInt64 = 0
  /// Bytes sent out of the port.
  public var transmittedBytes: UInt64 = 0
  /// Received frames sent to exactly one port (known unicast).
  public var forwardedPackets: UInt64 = 0
  /// Received frames that were flooded (broadcast, multicast, unknown unicast)
  /// to at least one port.
  public var floodedPackets: UInt64 = 0
  /// Times the port went down (its interface vanished or went down).
  public var linkDowns: UInt64 = 0
  private var dropCounts = InlineArray<32, UInt64>(repeating: 0)
  private var transmitDropCounts = InlineArray<32, UInt64>(repeating: 0)

  /// All counters zero.
  public init() {}

  /// Counts one received frame of `byteCount` bytes (one access to the counters, not two).
  @inline(__always)
  public mutating func countReceived(byteCount: Int) {
    receivedPackets &+= 1
    receivedBytes &+= UInt64(byteCount)
  }

  /// Counts a frame arriving at the switch: received and, until `countFlooded`
  /// or `countDroppedArrival` says otherwise, forwarded. Forwarding is the
  /// common fate, so the common path touches the counters once.
  @inline(__always)
  public mutating func countArrival(byteCount: Int) {
    receivedPackets &+= 1
    receivedBytes &+= UInt64(byteCount)
    forwardedPackets &+= 1
  }

  /// Moves an arrived frame from forwarded to flooded.
  @inline(__always)
  public mutating func countFlooded() {
    forwardedPackets &-= 1
    floodedPackets &+= 1
  }

  /// Moves an arrived frame from forwarded to dropped for `reason`.
  @inline(__always)
  public mutating func countDroppedArrival(_ reason: DropReason) {
    forwardedPackets &-= 1
    dropCounts[reason.rawValue] &+= 1
  }

  /// Adds what another datapath thread counted on the same port: every count
  /// summed, but link downs, which each thread sees of the one link, taken once.
  public mutating func merge(_ other: PortCounters) {
    receivedPackets &+= other.receivedPackets
    receivedBytes &+= other.receivedBytes
    transmittedPackets &+= other.transmittedPackets
    transmittedBytes &+= other.transmittedBytes
    forwardedPackets &+= other.forwardedPackets
    floodedPackets &+= other.floodedPackets
    linkDowns = max(linkDowns, other.linkDowns)
    for index in 0..<32 {
      dropCounts[index] &+= other.dropCounts[index]
      transmitDropCounts[index] &+= other.transmitDropCounts[index]
    }
  }

  /// Frames dropped for `reason` on this port.
  @inline(__always)
  public subscript(dropped reason: DropReason) -> UInt64 {
    get { dropCounts[reason.rawValue] }
    set { dropCounts[reason.rawValue] = newValue }
  }

  /// Frames bound out of this port and dropped there for `reason`.
  @inline(__always)
  public subscript(transmitDropped reason: DropReason) -> UInt64 {
    get { transmitDropCounts[reason.rawValue] }
    set { transmitDropCounts[reason.rawValue] = newValue }
  }

  /// Received frames dropped, all reasons together.
  public var droppedPackets: UInt64 {
    DropReason.allCases.reduce(0) { $0 + self[dropped: $1] }
  }

  /// Frames bound out of this port and dropped there, all reasons together.
  public var transmitDroppedPackets: UInt64 {
    DropReason.allCases.reduce(0) { $0 + self[transmitDropped: $1] }
  }

  /// True when every received frame is accounted for: forwarded, flooded or dropped.
  public var addsUp: Bool {
    receivedPackets == forwardedPackets &+ floodedPackets &+ droppedPackets
  }

  /// Non-zero receive drop counters by reason, for display.
  public var dropsByReason: [(reason: DropReason, count: UInt64)] {
    DropReason.allCases.compactMap { reason in
      let count = self[dropped: reason]
      return count == 0 ? nil : (reason, count)
    }
  }

  /// Non-zero transmit drop counters by reason, for display.
  public var transmitDropsByReason: [(reason: DropReason, count: UInt64)] {
    DropReason.allCases.compactMap { reason in
      let count = self[transmitDropped: reason]
      return count == 0 ? nil : (reason, count)
    }
  }

  /// Compares every counter.
  public static func == (lhs: PortCounters, rhs: PortCounters) -> Bool {
    lhs.receivedPackets == rhs.receivedPackets && lhs.receivedBytes == rhs.receivedBytes
      && lhs.transmittedPackets == rhs.transmittedPackets
      && lhs.transmittedBytes == rhs.transmittedBytes
      && lhs.forwardedPackets == rhs.forwardedPackets && lhs.floodedPackets == rhs.floodedPackets
      && lhs.linkDowns == rhs.linkDowns
      && DropReason.allCases.allSatisfy {
        lhs[dropped: $0] == rhs[dropped: $0] && lhs[transmitDropped: $0] == rhs[transmitDropped: $0]
      }
  }
}
