import PatchbayCore
import Testing

private let t0 = Instant.seconds(1_000)

/// Counters with the given totals in both directions.
private func counters(
  receivedPackets: UInt64 = 0, receivedBytes: UInt64 = 0,
  transmittedPackets: UInt64 = 0, transmittedBytes: UInt64 = 0
) -> PortCounters {
  var counters = PortCounters()
  counters.receivedPackets = receivedPackets
  counters.receivedBytes = receivedBytes
  counters.transmittedPackets = transmittedPackets
  counters.transmittedBytes = transmittedBytes
  return counters
}

/// Pins down the rate meter: nothing until two samples, then the exact change
/// over the exact interval in bits and packets per second; a counter reset reads
/// zero, an interval of no time keeps the old rates, and absurd deltas saturate
/// instead of trapping.
@Suite("RateMeter")
struct RateMeterTests {
  @Test func theFirstSampleGivesZeroRates() {
    var meter = RateMeter()
    #expect(meter.rates == RateMeter.Rates())
    meter.sample(
      counters(
        receivedPackets: 10, receivedBytes: 15_000, transmittedPackets: 5, transmittedBytes: 500),
      at: t0)
    #expect(meter.rates.receivedBitsPerSecond == 0)
    #expect(meter.rates.receivedPacketsPerSecond == 0)
    #expect(meter.rates.transmittedBitsPerSecond == 0)
    #expect(meter.rates.transmittedPacketsPerSecond == 0)
  }

  @Test func theSecondSampleGivesExactRates() {
    var meter = RateMeter()
    var port = PortCounters()
    port.countReceived(byteCount: 100)
    meter.sample(port, at: t0)
    // 1000 frames of 1500 bytes in, 500 of 60 out, over one second.
    for _ in 0..<1_000 {
      port.countReceived(byteCount: 1_500)
    }
    port.transmittedPackets += 500
    port.transmittedBytes += 500 * 60
    meter.sample(port, at: t0 + .seconds(1))
    #expect(meter.rates.receivedBitsPerSecond == 12_000_000)
    #expect(meter.rates.receivedPacketsPerSecond == 1_000)
    #expect(meter.rates.transmittedBitsPerSecond == 240_000)
    #expect(meter.rates.transmittedPacketsPerSecond == 500)
  }

  @Test func ratesScaleToTheInterval() {
    var meter = RateMeter()
    meter.sample(counters(), at: t0)
    // 1000 bytes and 3 packets in 250 ms: 32 000 bit/s and 12 packets/s.
    meter.sample(counters(receivedPackets: 3, receivedBytes: 1_000), at: t0 + .milliseconds(250))
    #expect(meter.rates.receivedBitsPerSecond == 32_000)
    #expect(meter.rates.receivedPacketsPerSecond == 12)
    // Each sample counts from the one before: 2 packets, 3 bytes in the next 7 ns.
    meter.sample(
      counters(receivedPackets: 5, receivedBytes: 1_003),
      at: t0 + .milliseconds(250) + .nanoseconds(7))
    // 24 bits in 7 ns: 24 × 10⁹ / 7 = 3 428 571 428.57, truncated.
    #expect(meter.rates.receivedBitsPerSecond == 3_428_571_428)
    // 2 packets in 7 ns: 285 714 285.7, truncated.
    #expect(meter.rates.receivedPacketsPerSecond == 285_714_285)
    #expect(meter.rates.transmittedBitsPerSecond == 0)
  }

  @Test func countersThatWentBackwardsReadZero() {
    var meter = RateMeter()
    meter.sample(
      counters(
        receivedPackets: 1_000, receivedBytes: 1_500_000, transmittedPackets: 10,
        transmittedBytes: 1_000),
      at: t0)
    // The received counters were reset; the transmitted ones kept going.
    meter.sample(
      counters(
        receivedPackets: 4, receivedBytes: 400, transmittedPackets: 20, transmittedBytes: 2_000),
      at: t0 + .seconds(1))
    #expect(meter.rates.receivedBitsPerSecond == 0)
    #expect(meter.rates.receivedPacketsPerSecond == 0)
    #expect(meter.rates.transmittedBitsPerSecond == 8_000)
    #expect(meter.rates.transmittedPacketsPerSecond == 10)
    // The next interval counts from the reset values.
    meter.sample(
      counters(
        receivedPackets: 14, receivedBytes: 1_400, transmittedPackets: 20, transmittedBytes: 2_000),
      at: t0 + .seconds(2))
    #expect(meter.rates.receivedBitsPerSecond == 8_000)
    #expect(meter.rates.receivedPacketsPerSecond == 10)
    #expect(meter.rates.transmittedBitsPerSecond == 0)
    #expect(meter.rates.transmittedPacketsPerSecond == 0)
  }

  @Test func noElapsedTimeKeepsThePreviousRates() {
    var meter = RateMeter()
    meter.sample(counters(), at: t0)
    meter.sample(counters(receivedPackets: 10, receivedBytes: 1_000), at: t0 + .seconds(1))
    #expect(meter.rates.receivedBitsPerSecond == 8_000)
    #expect(meter.rates.receivedPacketsPerSecond == 10)
    // The same instant again: no interval to divide by.
    meter.sample(counters(receivedPackets: 20, receivedBytes: 9_000), at: t0 + .seconds(1))
    #expect(meter.rates.receivedBitsPerSecond == 8_000)
    #expect(meter.rates.receivedPacketsPerSecond == 10)
    // An instant before the last: likewise.
    meter.sample(counters(receivedPackets: 30, receivedBytes: 9_000), at: t0)
    #expect(meter.rates.receivedBitsPerSecond == 8_000)
    #expect(meter.rates.receivedPacketsPerSecond == 10)
  }

  @Test func hugeDeltasSaturateInsteadOfTrapping() {
    var meter = RateMeter()
    meter.sample(counters(), at: t0)
    // Every counter at its maximum one nanosecond later.
    meter.sample(
      counters(
        receivedPackets: .max, receivedBytes: .max, transmittedPackets: .max,
        transmittedBytes: .max),
      at: t0 + .nanoseconds(1))
    #expect(meter.rates.receivedBitsPerSecond == .max)
    #expect(meter.rates.receivedPacketsPerSecond == .max)
    #expect(meter.rates.transmittedBitsPerSecond == .max)
    #expect(meter.rates.transmittedPacketsPerSecond == .max)
  }

  @Test func theLargestDeltasThatFitAreExact() {
    var meter = RateMeter()
    meter.sample(counters(), at: t0)
    // Over one second: UInt64.max packets is exactly UInt64.max per second, and
    // ⌊UInt64.max / 8⌋ bytes is UInt64.max - 7 bits per second; the products
    // (about 2⁹⁴) only fit in 128 bits.
    meter.sample(
      counters(receivedPackets: .max, receivedBytes: .max / 8, transmittedBytes: .max / 8 + 1),
      at: t0 + .seconds(1))
    #expect(meter.rates.receivedPacketsPerSecond == .max)
    #expect(meter.rates.receivedBitsPerSecond == UInt64.max - 7)
    // One byte more is 2⁶⁴ bits per second: saturated.
    #expect(meter.rates.transmittedBitsPerSecond == .max)
  }
}
