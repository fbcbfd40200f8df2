import PatchbayWire

/// The buckets of one port direction: bits (counted in bits, so a rate needs
/// no rounding) and packets. A frame passes when both buckets conform, and
/// then takes from both; a refused frame takes nothing.
///
/// Ingress policing drops what does not pass; the egress `Shaper` holds it
/// back instead. Both count a frame by its `FrameFootprint`.
public struct Policer: Sendable, Equatable {
  /// The limits the buckets were made from.
  public let limit: RateLimit
  private var bits: TokenBucket?
  private var packets: TokenBucket?

  /// Full buckets for `limit` at `now`.
  public init(_ limit: RateLimit, at now: Instant) {
    self.limit = limit
    if let rate = limit.bitsPerSecond, let burst = limit.effectiveBurstBytes {
      bits = TokenBucket(rate: rate, depth: burst * 8, at: now)
    }
    if let rate = limit.packetsPerSecond, let depth = limit.packetBurst {
      packets = TokenBucket(rate: rate, depth: depth, at: now)
    }
  }

  /// Refills at `now`; if the frame conforms to both buckets, takes it out of
  /// both and returns true.
  @inline(__always)
  public mutating func admit(_ footprint: FrameFootprint, at now: Instant) -> Bool {
    refill(at: now)
    guard conforms(footprint) else { return false }
    bits?.consume(cost: footprint.bitCost)
    packets?.consume(cost: footprint.packetCost)
    return true
  }

  /// Nanoseconds after `now` until `footprint` would be admitted; 0 if it would be now.
  public mutating func delay(until footprint: FrameFootprint, at now: Instant) -> UInt64 {
    refill(at: now)
    return max(
      bits?.delay(untilConforming: footprint.bitCost) ?? 0,
      packets?.delay(untilConforming: footprint.packetCost) ?? 0)
  }

  /// Whole bits and packets in the buckets (nil for a rate that is not limited).
  public var tokens: (bits: Int64?, packets: Int64?) { (bits?.tokens, packets?.tokens) }

  @inline(__always)
  private mutating func refill(at now: Instant) {
    bits?.refill(at: now)
    packets?.refill(at: now)
  }

  @inline(__always)
  private func conforms(_ footprint: FrameFootprint) -> Bool {
    (bits?.conforms(cost: footprint.bitCost) ?? true)
      && (packets?.conforms(cost: footprint.packetCost) ?? true)
  }
}
