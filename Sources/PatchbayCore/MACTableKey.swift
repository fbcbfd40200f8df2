import PatchbayWire

/// The key of a MAC table entry: VLAN and MAC packed into one 64-bit word
/// (VLAN in bits 48–59, MAC in bits 0–47), so a lookup hashes and compares one integer.
public struct MACTableKey: Hashable, Sendable {
  /// The packed value.
  public let rawValue: UInt64

  /// Packs `mac` in `vlan`.
  @inline(__always)
  public init(vlan: UInt16, mac: MACAddress) {
    rawValue = UInt64(vlan & 0x0FFF) << 48 | mac.rawValue
  }

  /// The VLAN part.
  public var vlan: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 48) }
  /// The MAC part.
  public var mac: MACAddress { MACAddress(rawValue: rawValue) }
}

/// What learning a source address did to the table.
public enum LearnOutcome: Equatable, Sendable {
  /// Known on this port already; its age was reset.
  case refreshed
  /// Newly learned (possibly evicting the oldest entry).
  case learned
  /// Known on another port before: moved here.
  case moved(from: Int)
  /// A static entry of another port: not learned, and the frame should be dropped.
  case staticConflict
  /// A static entry of this port: nothing to do.
  case staticMatch
  /// New to the port, which already has as many learned addresses as its
  /// limit allows: not learned, and the frame should be dropped.
  case limitReached
}

/// One row of the table, for `fdb`.
public struct MACTableEntry: Hashable, Sendable {
  /// The VLAN the address lives in.
  public var vlan: UInt16
  /// The address.
  public var mac: MACAddress
  /// The port it was learned on or assigned to.
  public var port: Int
  /// Nanoseconds since it was last seen (0 for static entries).
  public var ageNanoseconds: UInt64
  /// True for configured entries that never age.
  public var isStatic: Bool
}

/// Table-wide event counters.
public struct MACTableStatistics: Hashable, Sendable {
  /// Addresses learned (first time or after expiry).
  public var learned: UInt64 = 0
  /// Addresses that moved from one port to another.
  public var moved: UInt64 = 0
  /// Entries removed to make room when the table was full.
  public var evicted: UInt64 = 0
  /// Entries removed because they were not seen for the aging time.
  public var expired: UInt64 = 0
  /// Entries removed because their port went down.
  public var flushed: UInt64 = 0
}

extension MACTableStatistics {
  /// Joins another thread's copy's events: learning and moves are counted by
  /// the copy that saw them (summed); every copy evicts, expires and flushes
  /// the shared addresses itself, so those are the most any copy counted.
  public mutating func merge(_ other: MACTableStatistics) {
    learned += other.learned
    moved += other.moved
    evicted = max(evicted, other.evicted)
    expired = max(expired, other.expired)
    flushed = max(flushed, other.flushed)
  }
}

extension MACTableKey {
  /// Rebuilds a key from its packed value.
  public init(rawValue: UInt64) { self.rawValue = rawValue }
}
