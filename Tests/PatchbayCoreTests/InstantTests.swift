import PatchbayCore
import Testing

private let durationNanosecondCases: [(Duration, UInt64)] = [
  (.zero, 0),
  (.nanoseconds(1), 1),
  (.microseconds(3), 3_000),
  (.milliseconds(1), 1_000_000),
  (.milliseconds(1_500), 1_500_000_000),
  (.seconds(2), 2_000_000_000),
  (.seconds(300), 300_000_000_000),
  (.seconds(2) + .nanoseconds(7), 2_000_000_007),
  // Sub-nanosecond parts are truncated.
  (Duration(secondsComponent: 0, attosecondsComponent: 1_999_999_999), 1),
  (Duration(secondsComponent: 1, attosecondsComponent: 999_999_999), 1_000_000_000),
]

@Suite("Instant")
struct InstantTests {
  @Test func secondsCountsNanosecondsFromTheOrigin() {
    #expect(Instant.zero.nanoseconds == 0)
    #expect(Instant.seconds(0) == Instant.zero)
    #expect(Instant.seconds(3).nanoseconds == 3_000_000_000)
    #expect(Instant.seconds(18_446_744_073).nanoseconds == 18_446_744_073_000_000_000)
  }

  @Test func addingADurationMovesLater() {
    #expect(Instant(nanoseconds: 5) + .nanoseconds(7) == Instant(nanoseconds: 12))
    #expect(Instant.seconds(1) + .milliseconds(250) == Instant(nanoseconds: 1_250_000_000))
    #expect(Instant.seconds(10) + .seconds(300) == Instant.seconds(310))
    #expect(Instant.seconds(10) + .zero == Instant.seconds(10))
  }

  @Test func addingSaturatesAtTheEndOfTheClock() {
    let almostEnd = Instant(nanoseconds: .max - 1)
    #expect(almostEnd + .nanoseconds(1) == Instant(nanoseconds: .max))
    #expect(almostEnd + .nanoseconds(2) == Instant(nanoseconds: .max))
    #expect(Instant(nanoseconds: .max) + .nanoseconds(1) == Instant(nanoseconds: .max))
    #expect(Instant.seconds(1) + .seconds(Int64.max) == Instant(nanoseconds: .max))
    // The largest sum that does not overflow is exact, not saturated early.
    #expect(Instant(nanoseconds: 1) + .nanoseconds(Int64.max) == Instant(nanoseconds: 1 << 63))
  }

  @Test func addingANegativeDurationLeavesTheInstantUnchanged() {
    // Duration.nanoseconds clamps negative durations to zero, so `+` never moves back.
    #expect(Instant.seconds(5) + .seconds(-1) == Instant.seconds(5))
    #expect(Instant.seconds(5) + .nanoseconds(-1) == Instant.seconds(5))
    #expect(Instant.zero + .seconds(-1) == Instant.zero)
  }

  @Test func nanosecondsSinceAnEarlierInstant() {
    #expect(Instant(nanoseconds: 10).nanoseconds(since: Instant(nanoseconds: 3)) == 7)
    #expect(Instant.seconds(310).nanoseconds(since: .seconds(10)) == 300_000_000_000)
    #expect(Instant(nanoseconds: .max).nanoseconds(since: .zero) == .max)
  }

  @Test func nanosecondsSinceNeverUnderflows() {
    #expect(Instant(nanoseconds: 3).nanoseconds(since: Instant(nanoseconds: 10)) == 0)
    #expect(Instant.seconds(4).nanoseconds(since: .seconds(4)) == 0)
    #expect(Instant.zero.nanoseconds(since: Instant(nanoseconds: .max)) == 0)
  }

  @Test func instantsOrderByNanoseconds() {
    #expect(Instant(nanoseconds: 1) < Instant(nanoseconds: 2))
    #expect(!(Instant(nanoseconds: 2) < Instant(nanoseconds: 2)))
    #expect(!(Instant(nanoseconds: 3) < Instant(nanoseconds: 2)))
    let shuffled = [Instant.seconds(3), .zero, Instant(nanoseconds: .max), .seconds(1)]
    #expect(shuffled.sorted() == [.zero, .seconds(1), .seconds(3), Instant(nanoseconds: .max)])
  }

  @Test func descriptionIsSecondsWithNineDecimals() {
    #expect(Instant.zero.description == "0.000000000s")
    #expect(Instant(nanoseconds: 1_000_000_005).description == "1.000000005s")
    #expect(Instant(nanoseconds: 999_999_999).description == "0.999999999s")
    #expect(Instant.seconds(300).description == "300.000000000s")
    #expect(Instant(nanoseconds: .max).description == "18446744073.709551615s")
  }

  @Test("Duration.nanoseconds", arguments: durationNanosecondCases)
  func durationNanoseconds(duration: Duration, expected: UInt64) {
    #expect(duration.nanoseconds == expected)
  }

  @Test(
    "Duration.nanoseconds clamps negative durations to zero",
    arguments: [
      Duration.nanoseconds(-1), .milliseconds(-1), .milliseconds(-1_500), .seconds(-1),
      .seconds(Int64.min),
    ])
  func negativeDurationNanoseconds(duration: Duration) {
    #expect(duration.nanoseconds == 0)
  }

  @Test("Duration.nanoseconds clamps huge durations to UInt64.max")
  func hugeDurationNanoseconds() {
    // UInt64.max nanoseconds is 18_446_744_073.709_551_615 s: the last representable value.
    #expect((Duration.seconds(18_446_744_073) + .nanoseconds(709_551_615)).nanoseconds == .max)
    #expect(
      (Duration.seconds(18_446_744_073) + .nanoseconds(709_551_614)).nanoseconds == UInt64.max - 1)
    // One nanosecond more overflows the addition of the fractional part.
    #expect((Duration.seconds(18_446_744_073) + .nanoseconds(709_551_616)).nanoseconds == .max)
    #expect((Duration.seconds(18_446_744_073) + .milliseconds(800)).nanoseconds == .max)
    // Whole seconds alone overflow the multiplication.
    #expect(Duration.seconds(18_446_744_074).nanoseconds == .max)
    #expect(Duration.seconds(Int64.max).nanoseconds == .max)
  }
}
