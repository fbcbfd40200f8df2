import PatchbayCore

/// `rate:` on a port. Ingress is what the VM sends into the switch, egress what it receives.
public struct RateLimitSpec: Hashable, Sendable {
  /// Limit on what the port sends into the switch.
  public var ingress: Rate?
  /// Limit on what the switch sends out of the port.
  public var egress: Rate?
  /// Bucket depth in bytes.
  public var burst: Int?
  /// Packet-rate limit on ingress.
  public var ingressPPS: UInt64?
  /// Packet-rate limit on egress.
  public var egressPPS: UInt64?

  /// The keys of `rate:` (and of `patchbay set ... rate`).
  public static let keys = ["ingress", "egress", "burst", "ingress-pps", "egress-pps"]

  /// Makes a rate-limit value.
  public init(
    ingress: Rate? = nil, egress: Rate? = nil, burst: Int? = nil, ingressPPS: UInt64? = nil,
    egressPPS: UInt64? = nil
  ) {
    self.ingress = ingress
    self.egress = egress
    self.burst = burst
    self.ingressPPS = ingressPPS
    self.egressPPS = egressPPS
  }

  /// True when no direction is limited (a burst alone limits nothing).
  public var limitsNothing: Bool {
    ingress == nil && egress == nil && ingressPPS == nil && egressPPS == nil
  }

  /// The ingress limit for the datapath, nil when ingress is unlimited.
  public var ingressLimit: RateLimit? { limit(ingress, ingressPPS) }

  /// The egress limit for the datapath, nil when egress is unlimited.
  public var egressLimit: RateLimit? { limit(egress, egressPPS) }

  private func limit(_ rate: Rate?, _ packets: UInt64?) -> RateLimit? {
    var bits: UInt64?
    if case .bitsPerSecond(let value) = rate { bits = value }
    guard bits != nil || packets != nil else { return nil }
    return RateLimit(
      bitsPerSecond: bits, packetsPerSecond: packets, burstBytes: burst.map { UInt64($0) })
  }

  /// Parses the value of `ingress` or `egress`: a bit rate up to 1000gbit.
  public static func bitRate(_ text: String, key: String) throws(ValueFormatError) -> Rate {
    let rate = try ValueFormat.rate(text)
    guard case .bitsPerSecond(let bits) = rate else {
      throw ValueFormatError("use a bit rate like 100mbit; packet rates go in '\(key)-pps'")
    }
    guard bits <= TokenBucket.maximumRate else {
      throw ValueFormatError("must be at most 1000gbit")
    }
    return rate
  }

  /// Parses the value of `ingress-pps` or `egress-pps`: `20kpps`, or a bare number of packets.
  public static func packetRate(_ text: String) throws(ValueFormatError) -> UInt64 {
    let rate = try ValueFormat.rate(text.allSatisfy(\.isNumber) ? text + "pps" : text)
    guard case .packetsPerSecond(let packets) = rate else {
      throw ValueFormatError("use a packet rate like 20kpps")
    }
    guard packets <= TokenBucket.maximumRate / 1000 else {
      throw ValueFormatError("must be at most 1000mpps")
    }
    return packets
  }

  /// Parses the value of `burst`: a size from 1 byte to 512MiB.
  public static func burstSize(_ text: String) throws(ValueFormatError) -> Int {
    let bytes = try ValueFormat.size(text)
    guard bytes > 0 else { throw ValueFormatError("must be greater than zero") }
    guard bytes <= RateLimit.maximumBurstBytes else {
      throw ValueFormatError("must be at most 512MiB")
    }
    return Int(bytes)
  }

  /// The limits after `patchbay set ... rate` settings such as `ingress=50mbit`,
  /// `egress=off` or `burst=64KiB`; `off` alone lifts every limit. Keys not
  /// named keep their value. Nil when nothing is limited afterwards.
  public func updated(with settings: [String]) throws(ValueFormatError) -> RateLimitSpec? {
    guard !settings.isEmpty else {
      throw ValueFormatError(
        "say what to change: ingress=RATE, egress=RATE, burst=SIZE, ingress-pps=PPS, egress-pps=PPS (or off)"
      )
    }
    if settings == ["off"] { return nil }
    var spec = self
    for setting in settings {
      let parts = setting.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard parts.count == 2, !parts[1].isEmpty else {
        throw ValueFormatError(
          "'\(setting)': expected KEY=VALUE, like ingress=50mbit or egress=off")
      }
      let key = String(parts[0])
      let value = String(parts[1])
      let off = value.lowercased() == "off"
      guard RateLimitSpec.keys.contains(key) else {
        throw ValueFormatError(
          "unknown rate setting '\(key)'; use \(RateLimitSpec.keys.joined(separator: ", "))")
      }
      do throws(ValueFormatError) {
        switch key {
        case "ingress": spec.ingress = off ? nil : try RateLimitSpec.bitRate(value, key: key)
        case "egress": spec.egress = off ? nil : try RateLimitSpec.bitRate(value, key: key)
        case "ingress-pps": spec.ingressPPS = off ? nil : try RateLimitSpec.packetRate(value)
        case "egress-pps": spec.egressPPS = off ? nil : try RateLimitSpec.packetRate(value)
        default: spec.burst = off ? nil : try RateLimitSpec.burstSize(value)
        }
      } catch {
        throw ValueFormatError("invalid \(key) '\(value)': \(error.reason)")
      }
    }
    return spec.limitsNothing ? nil : spec
  }
}
