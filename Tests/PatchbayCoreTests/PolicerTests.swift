import PatchbayCore
import PatchbayWire
import Testing

private let t0 = Instant.seconds(1_000)
/// A full-size frame: 1500 layer-3 bytes, 12 000 bits.
private let fullFrame = FrameFootprint(bytes: 1_500, packets: 1)
/// A minimum frame: 46 bytes, 368 bits.
private let smallFrame = FrameFootprint(bytes: 46, packets: 1)

/// `policer` after admitting `footprint` at `now` (the original is left as it was).
private func admitted(_ policer: Policer, _ footprint: FrameFootprint, at now: Instant) -> Bool {
  var copy = policer
  return copy.admit(footprint, at: now)
}

/// Pins down the policer: a frame must conform to both the bit and the packet
/// bucket and then takes from both, a refused frame takes from neither; the
/// default bucket depths RateLimit derives; the long-run rate a greedy sender
/// gets; and the exactness of `delay(until:at:)`.
@Suite("Policer")
struct PolicerTests {
  // MARK: Both buckets

  @Test func startsWithFullBuckets() {
    let policer = Policer(
      RateLimit(bitsPerSecond: 1_000_000, packetsPerSecond: 100, burstBytes: 150_000), at: t0)
    #expect(policer.tokens.bits == 1_200_000)
    #expect(policer.tokens.packets == 64)
    #expect(policer.limit.bitsPerSecond == 1_000_000)
  }

  @Test func aFrameRefusedByThePacketBucketTakesNoBits() {
    // 150 000 bytes (1 200 000 bits) of burst, but only 64 packets.
    var policer = Policer(
      RateLimit(bitsPerSecond: 1_000_000, packetsPerSecond: 100, burstBytes: 150_000), at: t0)
    for _ in 0..<64 {
      #expect(policer.admit(smallFrame, at: t0) == true)
    }
    // 64 × 368 bits = 23 552 taken.
    #expect(policer.tokens.bits == 1_176_448)
    #expect(policer.tokens.packets == 0)
    #expect(policer.admit(smallFrame, at: t0) == false)
    #expect(policer.tokens.bits == 1_176_448)
    #expect(policer.tokens.packets == 0)
    // One packet comes back after 10 ms at 100/s; 1 ns earlier still nothing,
    // and the bits keep flowing in meanwhile (9999.999 bits).
    #expect(policer.admit(smallFrame, at: t0 + .nanoseconds(9_999_999)) == false)
    #expect(policer.tokens.bits == 1_186_447)
    #expect(policer.tokens.packets == 0)
    #expect(policer.admit(smallFrame, at: t0 + .milliseconds(10)) == true)
    // 368 bits out of 1 186 448.
    #expect(policer.tokens.bits == 1_186_080)
    #expect(policer.tokens.packets == 0)
  }

  @Test func aFrameRefusedByTheBitBucketTakesNoPackets() {
    // Two full frames of burst (24 000 bits), 64 packets.
    var policer = Policer(
      RateLimit(bitsPerSecond: 1_000_000, packetsPerSecond: 100, burstBytes: 3_000), at: t0)
    #expect(policer.admit(fullFrame, at: t0) == true)
    #expect(policer.admit(fullFrame, at: t0) == true)
    #expect(policer.tokens.bits == 0)
    #expect(policer.tokens.packets == 62)
    #expect(policer.admit(fullFrame, at: t0) == false)
    #expect(policer.tokens.bits == 0)
    #expect(policer.tokens.packets == 62)
    // 12 000 bits take 12 ms; by then 1.2 packets came in (63.2).
    #expect(policer.admit(fullFrame, at: t0 + .nanoseconds(11_999_999)) == false)
    #expect(policer.tokens.bits == 11_999)
    #expect(policer.tokens.packets == 63)
    #expect(policer.admit(fullFrame, at: t0 + .milliseconds(12)) == true)
    #expect(policer.tokens.bits == 0)
    #expect(policer.tokens.packets == 62)
  }

  @Test func aSuperframeTakesAllItsSegmentsFromThePacketBucket() {
    // Ten segments of 1500 bytes: 120 000 bits and 10 packets, against 64 packets.
    let superframe = FrameFootprint(bytes: 15_000, packets: 10)
    var policer = Policer(
      RateLimit(bitsPerSecond: 1_000_000_000, packetsPerSecond: 100), at: t0)
    for _ in 0..<6 {
      #expect(policer.admit(superframe, at: t0) == true)
    }
    // The 1 Gbit/s default burst is 1 250 000 bytes: 10 000 000 bits, less 6 × 120 000.
    #expect(policer.tokens.bits == 9_280_000)
    #expect(policer.tokens.packets == 4)
    #expect(policer.admit(superframe, at: t0) == false)
    #expect(policer.tokens.bits == 9_280_000)
    #expect(policer.tokens.packets == 4)
    // Four single frames still fit.
    for _ in 0..<4 {
      #expect(policer.admit(smallFrame, at: t0) == true)
    }
    #expect(policer.admit(smallFrame, at: t0) == false)
  }

  @Test func packetsPerSecondOnly() {
    var policer = Policer(RateLimit(packetsPerSecond: 1_000), at: t0)
    #expect(policer.tokens.bits == nil)
    #expect(policer.tokens.packets == 64)
    // Size does not matter without a bit rate: 64 jumbo frames pass at once.
    let jumbo = FrameFootprint(bytes: 65_000, packets: 1)
    for _ in 0..<64 {
      #expect(policer.admit(jumbo, at: t0) == true)
    }
    #expect(policer.admit(jumbo, at: t0) == false)
    #expect(policer.delay(until: jumbo, at: t0) == 1_000_000)
    #expect(policer.admit(jumbo, at: t0 + .nanoseconds(999_999)) == false)
    #expect(policer.admit(jumbo, at: t0 + .milliseconds(1)) == true)
    #expect(policer.admit(jumbo, at: t0 + .milliseconds(1)) == false)
  }

  @Test func unlimitedAdmitsEverything() {
    var policer = Policer(RateLimit(), at: t0)
    #expect(policer.tokens.bits == nil)
    #expect(policer.tokens.packets == nil)
    let huge = FrameFootprint(bytes: 1 << 30, packets: 1 << 20)
    for _ in 0..<1_000 {
      #expect(policer.admit(huge, at: t0) == true)
    }
    #expect(policer.delay(until: huge, at: t0) == 0)
  }

  // MARK: Default bursts

  @Test func defaultBurstIsTenMillisecondsWithA128KiBFloor() {
    // 10 ms at 1 Mbit/s is 1250 bytes: the floor wins.
    #expect(RateLimit.defaultBurst(bitsPerSecond: 1_000_000) == 131_072)
    #expect(RateLimit.defaultBurst(bitsPerSecond: 100_000_000) == 131_072)
    // 131 072 bytes in 10 ms is 104 857 600 bit/s: the crossover.
    #expect(RateLimit.defaultBurst(bitsPerSecond: 104_857_599) == 131_072)
    #expect(RateLimit.defaultBurst(bitsPerSecond: 104_857_600) == 131_072)
    #expect(RateLimit.defaultBurst(bitsPerSecond: 104_858_400) == 131_073)
    #expect(RateLimit.defaultBurst(bitsPerSecond: 1_000_000_000) == 1_250_000)
    #expect(RateLimit.defaultBurst(bitsPerSecond: 10_000_000_000) == 12_500_000)
  }

  @Test func effectiveBurstPrefersTheExplicitOneAndClamps() {
    #expect(RateLimit(packetsPerSecond: 100).effectiveBurstBytes == nil)
    #expect(RateLimit(bitsPerSecond: 1_000_000).effectiveBurstBytes == 131_072)
    // An explicit burst wins whether it is below or above the default.
    #expect(RateLimit(bitsPerSecond: 1_000_000, burstBytes: 1_500).effectiveBurstBytes == 1_500)
    #expect(
      RateLimit(bitsPerSecond: 1_000_000, burstBytes: 10_000_000).effectiveBurstBytes == 10_000_000)
    // 2³² bits is the deepest bucket: 536 870 912 bytes.
    #expect(RateLimit.maximumBurstBytes == 536_870_912)
    #expect(
      RateLimit(bitsPerSecond: 1_000_000, burstBytes: 1 << 40).effectiveBurstBytes == 536_870_912)
    // 10 ms at 1 Tbit/s would be 1.25 GB.
    #expect(RateLimit(bitsPerSecond: 1_000_000_000_000).effectiveBurstBytes == 536_870_912)
  }

  @Test func packetBurstIsTenMillisecondsWithAFloorOf64() {
    #expect(RateLimit(bitsPerSecond: 1_000_000).packetBurst == nil)
    #expect(RateLimit(packetsPerSecond: 1).packetBurst == 64)
    #expect(RateLimit(packetsPerSecond: 6_499).packetBurst == 64)
    #expect(RateLimit(packetsPerSecond: 6_500).packetBurst == 65)
    #expect(RateLimit(packetsPerSecond: 1_000_000).packetBurst == 10_000)
  }

  @Test func isUnlimitedOnlyWithoutRates() {
    #expect(RateLimit().isUnlimited)
    #expect(RateLimit(burstBytes: 1_500).isUnlimited)
    #expect(!RateLimit(bitsPerSecond: 1).isUnlimited)
    #expect(!RateLimit(packetsPerSecond: 1).isUnlimited)
  }

  @Test func theBucketsTakeTheirDepthsFromTheLimit() {
    #expect(Policer(RateLimit(bitsPerSecond: 1_000_000), at: t0).tokens.bits == 1_048_576)
    #expect(Policer(RateLimit(bitsPerSecond: 1_000_000_000), at: t0).tokens.bits == 10_000_000)
    #expect(
      Policer(RateLimit(bitsPerSecond: 1_000_000, burstBytes: 1_500), at: t0).tokens.bits
        == 12_000)
    #expect(
      Policer(RateLimit(bitsPerSecond: 1_000_000, burstBytes: 1 << 40), at: t0).tokens.bits
        == 4_294_967_296)
    #expect(Policer(RateLimit(packetsPerSecond: 1_000_000), at: t0).tokens.packets == 10_000)
  }

  @Test func aFrameLargerThanTheBurstStillPasses() {
    // 100-byte burst, 1500-byte frame: it passes on a full bucket and leaves debt.
    var policer = Policer(RateLimit(bitsPerSecond: 1_000_000, burstBytes: 100), at: t0)
    #expect(policer.admit(fullFrame, at: t0) == true)
    // 800 bits less 12 000.
    #expect(policer.tokens.bits == -11_200)
    // The debt and the 800-bit depth must come back: 12 000 bits, 12 ms.
    #expect(policer.delay(until: fullFrame, at: t0) == 12_000_000)
    #expect(policer.admit(fullFrame, at: t0 + .nanoseconds(11_999_999)) == false)
    #expect(policer.admit(fullFrame, at: t0 + .milliseconds(12)) == true)
  }

  // MARK: Long-run rate

  @Test(
    "A greedy sender gets exactly the rate over a minute",
    arguments: [
      // 10 Mbit/s, 128 KiB burst: (1 048 576 + 600 000 000) / 12 000 = 50 087.38.
      (UInt64(10_000_000), UInt64(50_087)),
      // 100 Mbit/s, 128 KiB burst: (1 048 576 + 6 000 000 000) / 12 000 = 500 087.38.
      (100_000_000, 500_087),
      // 1 Gbit/s, 1 250 000-byte burst: (10 000 000 + 60 000 000 000) / 12 000 = 5 000 833.3.
      (1_000_000_000, 5_000_833),
    ])
  func greedySender(rate: UInt64, expectedFrames: UInt64) {
    // The sender offers 1500-byte frames at t0 and then exactly when the next
    // may pass; the bucket never sits full, so every bit of rate × time plus
    // the burst is used, up to less than one frame left at the end.
    let limit = RateLimit(bitsPerSecond: rate)
    var policer = Policer(limit, at: t0)
    let end = t0 + .seconds(60)
    var now = t0
    var frames: UInt64 = 0
    while now <= end {
      while policer.admit(fullFrame, at: now) {
        frames += 1
      }
      now = now + .nanoseconds(Int64(policer.delay(until: fullFrame, at: now)))
    }
    #expect(frames == expectedFrames)
    let burstBits = limit.effectiveBurstBytes! * 8
    let allowed = rate * 60 + burstBits
    let admittedBits = frames * fullFrame.bitCost
    #expect(admittedBits <= allowed)
    #expect(admittedBits > allowed - fullFrame.bitCost)
  }

  // MARK: Delay

  @Test func delayIsZeroWhenTheFrameConforms() {
    var policer = Policer(RateLimit(bitsPerSecond: 1_000_000, packetsPerSecond: 100), at: t0)
    #expect(policer.delay(until: fullFrame, at: t0) == 0)
  }

  @Test func delayWaitsForTheBitBucket() {
    var policer = Policer(
      RateLimit(bitsPerSecond: 1_000_000, packetsPerSecond: 100, burstBytes: 3_000), at: t0)
    #expect(policer.admit(fullFrame, at: t0) == true)
    #expect(policer.admit(fullFrame, at: t0) == true)
    // 12 000 bits at 1 Mbit/s; packets are plentiful.
    #expect(policer.delay(until: fullFrame, at: t0) == 12_000_000)
    // Seen 5 ms later, 7 ms remain.
    var later = policer
    #expect(later.delay(until: fullFrame, at: t0 + .milliseconds(5)) == 7_000_000)
    #expect(!admitted(policer, fullFrame, at: t0 + .nanoseconds(11_999_999)))
    #expect(admitted(policer, fullFrame, at: t0 + .milliseconds(12)))
  }

  @Test func delayWaitsForThePacketBucket() {
    var policer = Policer(RateLimit(bitsPerSecond: 1_000_000_000, packetsPerSecond: 100), at: t0)
    for _ in 0..<64 {
      #expect(policer.admit(smallFrame, at: t0) == true)
    }
    // One packet at 100/s; bits are plentiful.
    #expect(policer.delay(until: smallFrame, at: t0) == 10_000_000)
    #expect(!admitted(policer, smallFrame, at: t0 + .nanoseconds(9_999_999)))
    #expect(admitted(policer, smallFrame, at: t0 + .milliseconds(10)))
  }

  @Test func delayIsTheLongerOfTheTwo() {
    var policer = Policer(
      RateLimit(bitsPerSecond: 1_000_000, packetsPerSecond: 100, burstBytes: 150_000), at: t0)
    for _ in 0..<64 {
      #expect(policer.admit(smallFrame, at: t0) == true)
    }
    // A two-segment superframe of exactly the burst (1 200 000 bits) needs the
    // bit bucket full again, 23 552 bits short: 23.552 ms; its two packets need 20 ms.
    let superframe = FrameFootprint(bytes: 150_000, packets: 2)
    let delay = policer.delay(until: superframe, at: t0)
    #expect(delay == 23_552_000)
    #expect(!admitted(policer, superframe, at: Instant(nanoseconds: t0.nanoseconds + delay - 1)))
    #expect(admitted(policer, superframe, at: Instant(nanoseconds: t0.nanoseconds + delay)))
    // Three packets would need 30 ms: now the packet bucket is the longer wait.
    let threeSegments = FrameFootprint(bytes: 150_000, packets: 3)
    #expect(policer.delay(until: threeSegments, at: t0) == 30_000_000)
    #expect(!admitted(policer, threeSegments, at: t0 + .nanoseconds(29_999_999)))
    #expect(admitted(policer, threeSegments, at: t0 + .milliseconds(30)))
  }
}
