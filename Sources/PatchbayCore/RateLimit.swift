/// One direction's limits on a port: bits per second, packets per second, or
/// both, with the byte bucket's depth. Rates count layer-3 bytes: a frame's
/// Ethernet header and VLAN tags are not counted (see `FrameFootprint`).
public struct RateLimit: Sendable, Equatable, Hashable {
  /// Bits per second, if limited.
  public var bitsPerSecond: UInt64?
  /// Packets per second, if limited.
  public var packetsPerSecond: UInt64?
  /// The byte bucket's depth; nil for the default (`defaultBurst(bitsPerSecond:)`).
  public var burstBytes: UInt64?

  /// The largest burst a topology may ask for.
  public static let maximumBurstBytes: UInt64 = TokenBucket.maximumDepth / 8
  /// The smallest default burst: one 64 KiB GSO superframe with room to spare,
  /// so that a TCP sender's largest frame never waits on the bucket's size.
  public static let minimumDefaultBurstBytes: UInt64 = 128 * 1024
  /// The default burst as time at the rate: 10 ms.
  public static let defaultBurstNanoseconds: UInt64 = 10_000_000
  /// The packet bucket's depth as time at the rate (10 ms), at least `minimumPacketBurst`.
  public static let packetBurstNanoseconds: UInt64 = 10_000_000
  /// The smallest packet bucket: the 45 segments of a 64 KiB superframe and then some.
  public static let minimumPacketBurst: UInt64 = 64

  /// Makes a limit; at least one of the rates should be set.
  public init(
    bitsPerSecond: UInt64? = nil, packetsPerSecond: UInt64? = nil, burstBytes: UInt64? = nil
  ) {
    self.bitsPerSecond = bitsPerSecond
    self.packetsPerSecond = packetsPerSecond
    self.burstBytes = burstBytes
  }

  /// True when neither rate is set: the direction is unlimited.
  public var isUnlimited: Bool { bitsPerSecond == nil && packetsPerSecond == nil }

  /// The byte bucket's depth for `bitsPerSecond` when no burst is given:
  /// 10 ms at the rate, at least 128 KiB.
  public static func defaultBurst(bitsPerSecond: UInt64) -> UInt64 {
    let tenMilliseconds = bitsPerSecond / 8 / (1_000_000_000 / defaultBurstNanoseconds)
    return max(minimumDefaultBurstBytes, tenMilliseconds)
  }

  /// The byte bucket's depth in bytes (the given burst or the default); nil without a bit rate.
  public var effectiveBurstBytes: UInt64? {
    guard let bits = bitsPerSecond else { return nil }
    return min(
      burstBytes ?? RateLimit.defaultBurst(bitsPerSecond: bits), RateLimit.maximumBurstBytes)
  }

  /// The packet bucket's depth; nil without a packet rate.
  public var packetBurst: UInt64? {
    guard let packets = packetsPerSecond else { return nil }
    return max(
      RateLimit.minimumPacketBurst,
      packets / (1_000_000_000 / RateLimit.packetBurstNanoseconds))
  }
}
