import PatchbayCore
import Testing

@testable import PatchbayTopology

/// `rate:` values: what the loader and `patchbay set` accept, and the limits
/// the datapath gets from them.
@Suite struct RateLimitSpecTests {
  @Test func valuesAndBounds() throws {
    #expect(try RateLimitSpec.bitRate("100mbit", key: "ingress") == .bitsPerSecond(100_000_000))
    #expect(
      try RateLimitSpec.bitRate("1000gbit", key: "ingress") == .bitsPerSecond(1_000_000_000_000))
    #expect(throws: ValueFormatError("must be at most 1000gbit")) {
      try RateLimitSpec.bitRate("1001gbit", key: "egress")
    }
    #expect(
      throws: ValueFormatError("use a bit rate like 100mbit; packet rates go in 'egress-pps'")
    ) { try RateLimitSpec.bitRate("20kpps", key: "egress") }
    #expect(try RateLimitSpec.packetRate("1500") == 1500)
    #expect(try RateLimitSpec.packetRate("20kpps") == 20_000)
    #expect(throws: ValueFormatError("must be at most 1000mpps")) {
      try RateLimitSpec.packetRate("1001mpps")
    }
    #expect(try RateLimitSpec.burstSize("64KiB") == 65_536)
    #expect(try RateLimitSpec.burstSize("512MiB") == 512 << 20)
    #expect(throws: ValueFormatError("must be at most 512MiB")) {
      try RateLimitSpec.burstSize("513MiB")
    }
    #expect(throws: ValueFormatError("must be greater than zero")) {
      try RateLimitSpec.burstSize("0")
    }
  }

  @Test func directionsBecomeDatapathLimits() {
    let spec = RateLimitSpec(
      ingress: .bitsPerSecond(50_000_000), burst: 65_536, egressPPS: 20_000)
    #expect(
      spec.ingressLimit
        == RateLimit(bitsPerSecond: 50_000_000, packetsPerSecond: nil, burstBytes: 65_536))
    #expect(
      spec.egressLimit
        == RateLimit(bitsPerSecond: nil, packetsPerSecond: 20_000, burstBytes: 65_536))
    #expect(RateLimitSpec(ingress: .bitsPerSecond(1)).egressLimit == nil)
    #expect(spec.summary == "ingress 50mbit egress 20kpps burst 64KiB")
  }

  @Test func settingsChangeOnlyWhatTheyName() throws {
    let start = RateLimitSpec(
      ingress: .bitsPerSecond(100_000_000), egress: .bitsPerSecond(50_000_000), burst: 262_144)
    #expect(
      try start.updated(with: ["ingress=50mbit", "egress=off"])
        == RateLimitSpec(ingress: .bitsPerSecond(50_000_000), burst: 262_144))
    #expect(
      try start.updated(with: ["egress-pps=20kpps", "burst=off"])
        == RateLimitSpec(
          ingress: .bitsPerSecond(100_000_000), egress: .bitsPerSecond(50_000_000),
          egressPPS: 20_000))
    #expect(try start.updated(with: ["off"]) == nil)
    // Lifting the last limit leaves nothing to enforce.
    #expect(try start.updated(with: ["ingress=off", "egress=OFF"]) == nil)
    #expect(
      try RateLimitSpec().updated(with: ["ingress=1gbit"])
        == RateLimitSpec(ingress: .bitsPerSecond(1_000_000_000)))
  }

  @Test func badSettingsSayWhatIsWrong() {
    let spec = RateLimitSpec()
    #expect(
      throws: ValueFormatError(
        "unknown rate setting 'ingres'; use ingress, egress, burst, ingress-pps, egress-pps")
    ) { try spec.updated(with: ["ingres=5mbit"]) }
    #expect(
      throws: ValueFormatError("'ingress': expected KEY=VALUE, like ingress=50mbit or egress=off")
    ) { try spec.updated(with: ["ingress"]) }
    #expect(
      throws: ValueFormatError(
        "invalid egress '5mbps': unknown unit 'mbps'; use bit, kbit, mbit, gbit, pps, kpps or mpps")
    ) { try spec.updated(with: ["egress=5mbps"]) }
    #expect(throws: ValueFormatError.self) { try spec.updated(with: []) }
  }
}
