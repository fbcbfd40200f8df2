/// Per-port packet, byte and drop counters, owned by the datapath thread.
///
/// Plain integers in a fixed-size value: updating one is a store, never an
/// allocation or a reference count. The control plane reads copies.
public struct PortCounters: Sendable, Equatable {
  /// Frames received from the port (including those then dropped).
  public var receivedPackets: UInt64 = 0
  /// Bytes received from the port.
  public var receivedBytes: UInt64 = 0
  /// Frames sent out of the port.
  public var transmittedPackets: UInt64 = 0
  /// Bytes sent out of the port.
  public var transmittedBytes: UInt64 = 0
  /// Received frames that were flooded (broadcast, multicast, unknown unicast).
  public var floodedPackets: UInt64 = 0
  /// Times the port went down (its interface vanished or went down).
  public var linkDowns: UInt64 = 0
  private var dropCounts = InlineArray<16, UInt64>(repeating: 0)

  /// All counters zero.
  public init() {}

  /// Counts one received frame of `byteCount` bytes (one access to the counters, not two).
  @inline(__always)
  public mutating func countReceived(byteCount: Int) {
    receivedPackets &+= 1
    receivedBytes &+= UInt64(byteCount)
  }

  /// Frames dropped for `reason` on this port.
  @inline(__always)
  public subscript(dropped reason: DropReason) -> UInt64 {
    get { dropCounts[reason.rawValue] }
    set { dropCounts[reason.rawValue] = newValue }
  }

  /// Frames dropped on this port, all reasons together.
  public var droppedPackets: UInt64 {
    DropReason.allCases.reduce(0) { $0 + self[dropped: $1] }
  }

  /// Non-zero drop counters by reason name, for display.
  public var dropsByReason: [(reason: DropReason, count: UInt64)] {
    DropReason.allCases.compactMap { reason in
      let count = self[dropped: reason]
      return count == 0 ? nil : (reason, count)
    }
  }

  /// Compares every counter.
  public static func == (lhs: PortCounters, rhs: PortCounters) -> Bool {
    lhs.receivedPackets == rhs.receivedPackets && lhs.receivedBytes == rhs.receivedBytes
      && lhs.transmittedPackets == rhs.transmittedPackets
      && lhs.transmittedBytes == rhs.transmittedBytes && lhs.floodedPackets == rhs.floodedPackets
      && lhs.linkDowns == rhs.linkDowns
      && DropReason.allCases.allSatisfy { lhs[dropped: $0] == rhs[dropped: $0] }
  }
}
