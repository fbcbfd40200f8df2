import PatchbayCore
import PatchbayTopology
import PatchbayWire

/// Runs a port's rate limits as the datapath would: a policer for ingress and
/// a shaper for egress, offered a few frames of every size class over a few
/// instants. Limits come from topology files and from `patchbay set`, so any
/// value the parsers accept must be safe to run.
enum RateLimits {
  /// Frames from the smallest to a 64 KiB GSO superframe of 45 segments.
  private static let footprints = [
    FrameFootprint(bytes: 46, packets: 1), FrameFootprint(bytes: 1500, packets: 1),
    FrameFootprint(bytes: 65_535, packets: 45), FrameFootprint(bytes: .max, packets: .max),
  ]

  /// Exercises both directions of `spec`.
  static func run(_ spec: RateLimitSpec) {
    _ = spec.summary
    let instants = [Instant.zero, .seconds(1), Instant(nanoseconds: .max)]
    if let limit = spec.ingressLimit {
      _ = (limit.isUnlimited, limit.effectiveBurstBytes, limit.packetBurst)
      var policer = Policer(limit, at: .zero)
      for now in instants {
        for footprint in footprints {
          if !policer.admit(footprint, at: now) { _ = policer.delay(until: footprint, at: now) }
        }
      }
    }
    if let limit = spec.egressLimit {
      var shaper = Shaper(limit, at: .zero)
      for now in instants {
        for footprint in footprints {
          let size = Int(min(footprint.bytes, 1 << 20))
          guard shaper.offer(size: size, footprint: footprint, at: now) == .enqueue else {
            continue
          }
          let departure = shaper.headDeparture(footprint: footprint, at: now)
          invariant(departure >= now, "a queued frame leaves before it came")
          _ = shaper.releaseHead(size: size, footprint: footprint, at: departure)
        }
      }
      _ = shaper.changing(to: limit, at: .seconds(2))
    }
  }
}
