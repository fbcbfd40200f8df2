import PatchbayCore

/// What a switch's MAC table did since the lab came up (`macEvents` in
/// `status --json`): every count present, zero or not.
public struct MACEvents: Codable, Sendable, Equatable {
  /// Addresses learned (first time or after expiry).
  public var learned: UInt64
  /// Addresses that moved from one port to another.
  public var moved: UInt64
  /// Entries removed to make room when the table was full.
  public var evicted: UInt64
  /// Entries removed because they were not seen for the aging time.
  public var expired: UInt64
  /// Entries removed because their port went down.
  public var flushed: UInt64

  /// Makes the counts; each defaults to 0.
  public init(
    learned: UInt64 = 0, moved: UInt64 = 0, evicted: UInt64 = 0, expired: UInt64 = 0,
    flushed: UInt64 = 0
  ) {
    self.learned = learned
    self.moved = moved
    self.evicted = evicted
    self.expired = expired
    self.flushed = flushed
  }

  /// The counts of a table's statistics.
  public init(_ statistics: MACTableStatistics) {
    self.init(
      learned: statistics.learned, moved: statistics.moved, evicted: statistics.evicted,
      expired: statistics.expired, flushed: statistics.flushed)
  }
}
