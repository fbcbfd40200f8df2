import PatchbayCore
import PatchbayWire
import Testing

/// A locally administered unicast address ending in `n`.
private func mac(_ n: UInt64) -> MACAddress { MACAddress(rawValue: 0x0200_0000_0000 | n) }

private let t0 = Instant.seconds(1_000)
private let aging = Duration.seconds(300)
private let agingNanoseconds: UInt64 = 300_000_000_000

@Suite("MACTable")
struct MACTableTests {
  // MARK: Keys

  @Test func keyPacksVLANAboveTheMAC() {
    let key = MACTableKey(vlan: 10, mac: MACAddress(0x02, 0x00, 0x5E, 0x10, 0x20, 0x30))
    #expect(key.rawValue == 0x000A_0200_5E10_2030)
    #expect(key.vlan == 10)
    #expect(key.mac == MACAddress(0x02, 0x00, 0x5E, 0x10, 0x20, 0x30))
    #expect(MACTableKey(rawValue: key.rawValue) == key)
    let widest = MACTableKey(vlan: 4095, mac: .broadcast)
    #expect(widest.rawValue == 0x0FFF_FFFF_FFFF_FFFF)
    #expect(widest.vlan == 4095)
    #expect(widest.mac == .broadcast)
    #expect(MACTableKey(vlan: 10, mac: mac(1)) != MACTableKey(vlan: 20, mac: mac(1)))
  }

  // MARK: Learning

  @Test func learnsAndLooksUp() {
    var table = MACTable(capacity: 16, aging: aging)
    #expect(table.count == 0)
    #expect(table.lookup(mac(1), vlan: 1, at: t0) == nil)
    #expect(table.learn(mac(1), vlan: 1, on: 3, at: t0) == .learned)
    #expect(table.lookup(mac(1), vlan: 1, at: t0) == 3)
    #expect(table.lookup(mac(2), vlan: 1, at: t0) == nil)
    #expect(table.count == 1)
    #expect(table.learnedCount == 1)
    #expect(table.staticCount == 0)
    #expect(table.statistics.learned == 1)
    #expect(table.agingNanoseconds == agingNanoseconds)
    #expect(table.capacity == 16)
  }

  // The slab and index are shared by copies until one writes (copy on write).
  @Test func aCopyOfATableIsIndependent() {
    var original = MACTable(capacity: 16, aging: aging)
    #expect(original.learn(mac(1), vlan: 1, on: 1, at: t0) == .learned)
    var copy = original
    #expect(copy.learn(mac(1), vlan: 1, on: 1, at: t0 + .seconds(100)) == .refreshed)
    #expect(copy.learn(mac(2), vlan: 1, on: 2, at: t0) == .learned)
    let added = copy.addStatic(mac(3), vlan: 1, port: 3)
    #expect(added)
    #expect(original.lookup(mac(2), vlan: 1, at: t0) == nil)
    #expect(original.lookup(mac(3), vlan: 1, at: t0) == nil)
    #expect(original.count == 1)
    // The refresh in the copy did not reach the original: its entry still ages from t0.
    #expect(original.lookup(mac(1), vlan: 1, at: t0 + aging) == nil)
    #expect(copy.lookup(mac(1), vlan: 1, at: t0 + aging) == 1)
    original.flush(port: 1)
    #expect(copy.lookup(mac(1), vlan: 1, at: t0) == 1)
    #expect(copy.count == 3)
    #expect(original.count == 0)
  }

  @Test func seeingAnAddressAgainOnItsPortRefreshes() {
    var table = MACTable(capacity: 16, aging: aging)
    #expect(table.learn(mac(1), vlan: 1, on: 3, at: t0) == .learned)
    #expect(table.learn(mac(1), vlan: 1, on: 3, at: t0 + .seconds(1)) == .refreshed)
    #expect(table.count == 1)
    #expect(table.statistics.learned == 1)
    #expect(table.statistics.moved == 0)
  }

  @Test func sameMACInTwoVLANsIsTwoEntries() {
    var table = MACTable(capacity: 16, aging: aging)
    let shared = mac(0xAB)
    #expect(table.learn(shared, vlan: 10, on: 1, at: t0) == .learned)
    #expect(table.learn(shared, vlan: 20, on: 2, at: t0) == .learned)
    #expect(table.count == 2)
    #expect(table.statistics.learned == 2)
    #expect(table.statistics.moved == 0)
    #expect(table.lookup(shared, vlan: 10, at: t0) == 1)
    #expect(table.lookup(shared, vlan: 20, at: t0) == 2)
    #expect(table.lookup(shared, vlan: 30, at: t0) == nil)
    // Moving it in VLAN 20 leaves VLAN 10 alone.
    #expect(table.learn(shared, vlan: 20, on: 3, at: t0) == .moved(from: 2))
    #expect(table.lookup(shared, vlan: 10, at: t0) == 1)
    #expect(table.lookup(shared, vlan: 20, at: t0) == 3)
    let rows = table.entries(at: t0 + .seconds(2))
    #expect(rows.map(\.vlan) == [10, 20])
    #expect(rows.map(\.mac) == [shared, shared])
    #expect(rows.map(\.port) == [1, 3])
    #expect(rows.map(\.ageNanoseconds) == [2_000_000_000, 2_000_000_000])
    #expect(rows.map(\.isStatic) == [false, false])
  }

  @Test func anAddressSeenOnAnotherPortMoves() {
    var table = MACTable(capacity: 16, aging: aging)
    #expect(table.learn(mac(1), vlan: 1, on: 0, at: t0) == .learned)
    #expect(table.learn(mac(1), vlan: 1, on: 1, at: t0 + .seconds(1)) == .moved(from: 0))
    #expect(table.statistics.moved == 1)
    #expect(table.statistics.learned == 1)
    #expect(table.count == 1)
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + .seconds(1)) == 1)
    #expect(table.learn(mac(1), vlan: 1, on: 0, at: t0 + .seconds(2)) == .moved(from: 1))
    #expect(table.statistics.moved == 2)
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + .seconds(2)) == 0)
    // A move is a sighting: the age restarts.
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + .seconds(301)) == 0)
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + .seconds(302)) == nil)
  }

  // MARK: Aging

  @Test func entryLivesUntilExactlyTheAgingTime() {
    var table = MACTable(capacity: 16, aging: aging)
    #expect(table.learn(mac(1), vlan: 1, on: 2, at: t0) == .learned)
    let lastValid = t0 + .nanoseconds(agingNanoseconds - 1)
    #expect(lastValid == Instant(nanoseconds: 1_299_999_999_999))
    #expect(table.lookup(mac(1), vlan: 1, at: lastValid) == 2)
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + aging) == nil)
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + aging + .nanoseconds(1)) == nil)
    #expect(table.entries(at: lastValid).map(\.ageNanoseconds) == [agingNanoseconds - 1])
    #expect(table.entries(at: t0 + aging).isEmpty)
    // Not swept yet: the entry still occupies the table.
    #expect(table.count == 1)
  }

  @Test func refreshRestartsTheAge() {
    var table = MACTable(capacity: 16, aging: aging)
    #expect(table.learn(mac(1), vlan: 1, on: 2, at: t0) == .learned)
    let refresh = t0 + .seconds(200)
    #expect(table.learn(mac(1), vlan: 1, on: 2, at: refresh) == .refreshed)
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + aging) == 2)
    #expect(table.lookup(mac(1), vlan: 1, at: refresh + (aging - .nanoseconds(1))) == 2)
    #expect(table.lookup(mac(1), vlan: 1, at: refresh + aging) == nil)
    #expect(table.expire(at: t0 + aging) == 0)
    #expect(table.expire(at: refresh + aging) == 1)
  }

  @Test func expireRemovesExactlyTheExpiredPrefix() {
    var table = MACTable(capacity: 16, aging: aging)
    let a = mac(0xA)
    let b = mac(0xB)
    let c = mac(0xC)
    #expect(table.learn(a, vlan: 1, on: 0, at: t0) == .learned)
    #expect(table.learn(b, vlan: 1, on: 1, at: t0 + .seconds(10)) == .learned)
    #expect(table.learn(c, vlan: 1, on: 2, at: t0 + .seconds(20)) == .learned)
    // Seeing A again makes the order by last sight B, C, A.
    #expect(table.learn(a, vlan: 1, on: 0, at: t0 + .seconds(30)) == .refreshed)

    #expect(table.expire(at: t0 + .seconds(309)) == 0)
    #expect(table.count == 3)
    #expect(table.expire(at: t0 + .seconds(310)) == 1)
    #expect(table.count == 2)
    #expect(table.statistics.expired == 1)
    #expect(table.lookup(b, vlan: 1, at: t0 + .seconds(310)) == nil)
    #expect(table.lookup(a, vlan: 1, at: t0 + .seconds(310)) == 0)
    #expect(table.lookup(c, vlan: 1, at: t0 + .seconds(310)) == 2)
    // A second sweep at the same instant finds nothing more.
    #expect(table.expire(at: t0 + .seconds(310)) == 0)
    #expect(table.statistics.expired == 1)

    #expect(table.expire(at: t0 + (.seconds(330) - .nanoseconds(1))) == 1)
    #expect(table.lookup(c, vlan: 1, at: t0 + .seconds(320)) == nil)
    #expect(table.lookup(a, vlan: 1, at: t0 + .seconds(320)) == 0)
    #expect(table.expire(at: t0 + .seconds(330)) == 1)
    #expect(table.count == 0)
    #expect(table.statistics.expired == 3)
    #expect(table.statistics.learned == 3)
  }

  @Test func anExpiredEntrySeenAgainCountsAsLearnedNotMoved() {
    var table = MACTable(capacity: 16, aging: aging)
    #expect(table.learn(mac(1), vlan: 1, on: 1, at: t0) == .learned)
    #expect(table.learn(mac(2), vlan: 1, on: 1, at: t0) == .learned)
    // Expired but not swept: seen on another port, it is learned afresh.
    #expect(table.learn(mac(1), vlan: 1, on: 2, at: t0 + aging) == .learned)
    // Expired but not swept, same port: learned too, not refreshed.
    #expect(table.learn(mac(2), vlan: 1, on: 1, at: t0 + aging) == .learned)
    #expect(table.statistics.learned == 4)
    #expect(table.statistics.moved == 0)
    #expect(table.count == 2)
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + aging) == 2)
    #expect(table.lookup(mac(2), vlan: 1, at: t0 + aging) == 1)
    // Swept, then seen again.
    #expect(table.expire(at: t0 + aging * 2) == 2)
    #expect(table.count == 0)
    #expect(table.learn(mac(1), vlan: 1, on: 3, at: t0 + aging * 2) == .learned)
    #expect(table.statistics.learned == 5)
    #expect(table.statistics.moved == 0)
    #expect(table.statistics.expired == 2)
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + aging * 2) == 3)
  }

  // MARK: Size limit

  @Test func fullTableEvictsTheLeastRecentlySeenEntry() {
    var table = MACTable(capacity: 4, aging: aging)
    for n in 1...4 {
      #expect(table.learn(mac(UInt64(n)), vlan: 1, on: n, at: t0 + .seconds(Int64(n))) == .learned)
    }
    #expect(table.count == 4)
    // MAC 1 was inserted first but is seen again: MAC 2 is now the least recently seen.
    #expect(table.learn(mac(1), vlan: 1, on: 1, at: t0 + .seconds(5)) == .refreshed)
    #expect(table.learn(mac(5), vlan: 1, on: 5, at: t0 + .seconds(6)) == .learned)
    #expect(table.count == 4)
    #expect(table.statistics.evicted == 1)
    #expect(table.statistics.expired == 0)
    let now = t0 + .seconds(6)
    #expect(table.lookup(mac(2), vlan: 1, at: now) == nil)
    #expect(table.lookup(mac(1), vlan: 1, at: now) == 1)
    #expect(table.lookup(mac(3), vlan: 1, at: now) == 3)
    #expect(table.lookup(mac(4), vlan: 1, at: now) == 4)
    #expect(table.lookup(mac(5), vlan: 1, at: now) == 5)
    // Next to go is MAC 3, then 4, then 1 (by last sight).
    for (n, gone) in [(6, 3), (7, 4), (8, 1)] {
      #expect(table.learn(mac(UInt64(n)), vlan: 1, on: 0, at: now + .seconds(Int64(n))) == .learned)
      #expect(table.lookup(mac(UInt64(gone)), vlan: 1, at: now + .seconds(Int64(n))) == nil)
      #expect(table.count == 4)
    }
    #expect(table.statistics.evicted == 4)
    #expect(table.statistics.learned == 8)
    #expect(table.entries(at: now + .seconds(8)).map(\.mac) == [mac(5), mac(6), mac(7), mac(8)])
  }

  @Test func aRefreshMovesAnEntryOnlyOncePerRelinkInterval() {
    var table = MACTable(capacity: 3, aging: aging)
    // aging / 64 is 4.7 s, so the interval is capped at one second.
    #expect(table.relinkInterval == 1_000_000_000)
    for n in 1...3 {
      #expect(
        table.learn(mac(UInt64(n)), vlan: 1, on: n, at: t0 + .milliseconds(Int64(n))) == .learned)
    }
    // MAC 1 seen again 0.5 s after it was placed: its time is stored, its place kept...
    #expect(table.learn(mac(1), vlan: 1, on: 1, at: t0 + .milliseconds(501)) == .refreshed)
    #expect(table.entries(at: t0 + .milliseconds(501)).first?.ageNanoseconds == 0)
    // ...so it is still the first to go when the table is full.
    #expect(table.learn(mac(4), vlan: 1, on: 4, at: t0 + .milliseconds(600)) == .learned)
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + .milliseconds(600)) == nil)
    #expect(table.lookup(mac(2), vlan: 1, at: t0 + .milliseconds(600)) == 2)
    // MAC 2 seen again a whole interval after it was placed moves to the newest end: MAC 3 goes next.
    #expect(table.learn(mac(2), vlan: 1, on: 2, at: t0 + .milliseconds(1_002)) == .refreshed)
    #expect(table.learn(mac(5), vlan: 1, on: 5, at: t0 + .milliseconds(1_100)) == .learned)
    #expect(table.lookup(mac(3), vlan: 1, at: t0 + .milliseconds(1_100)) == nil)
    #expect(table.lookup(mac(2), vlan: 1, at: t0 + .milliseconds(1_100)) == 2)
    #expect(table.statistics.evicted == 2)
  }

  @Test func theSweepRemovesExpiredEntriesBehindAStaleLiveOne() {
    var table = MACTable(capacity: 8, aging: aging)
    #expect(table.learn(mac(1), vlan: 1, on: 1, at: t0) == .learned)
    #expect(table.learn(mac(2), vlan: 1, on: 2, at: t0 + .milliseconds(100)) == .learned)
    // MAC 1 is seen again within its relink interval: it keeps its place, ahead of MAC 2.
    #expect(table.learn(mac(1), vlan: 1, on: 1, at: t0 + .milliseconds(900)) == .refreshed)
    // An aging time after MAC 2's sighting, MAC 1 is still live and MAC 2 is not.
    let later = t0 + aging + .milliseconds(100)
    #expect(table.expire(at: later) == 1)
    #expect(table.lookup(mac(1), vlan: 1, at: later) == 1)
    #expect(table.entries(at: later).map(\.mac) == [mac(1)])
    // Lookup and aging follow the last sighting exactly: MAC 1 lives until 900 ms past the aging time.
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + aging + .milliseconds(899)) == 1)
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + aging + .milliseconds(900)) == nil)
    #expect(table.expire(at: t0 + aging + .milliseconds(900)) == 1)
    #expect(table.count == 0)
  }

  @Test func aShortAgingTimeRelinksWithinASixtyFourthOfIt() {
    let table = MACTable(capacity: 4, aging: .milliseconds(640))
    #expect(table.relinkInterval == 10_000_000)
  }

  @Test func evictingAnAlreadyExpiredEntryCountsAsExpiry() {
    var table = MACTable(capacity: 2, aging: aging)
    #expect(table.learn(mac(1), vlan: 1, on: 0, at: t0) == .learned)
    #expect(table.learn(mac(2), vlan: 1, on: 0, at: t0 + .seconds(100)) == .learned)
    #expect(table.learn(mac(3), vlan: 1, on: 0, at: t0 + aging) == .learned)
    #expect(table.statistics.expired == 1)
    #expect(table.statistics.evicted == 0)
    #expect(table.learn(mac(4), vlan: 1, on: 0, at: t0 + aging) == .learned)
    #expect(table.statistics.expired == 1)
    #expect(table.statistics.evicted == 1)
    #expect(table.count == 2)
  }

  /// Distinct addresses: sequential ones as QEMU hands out (a multiplicative hash spreads these
  /// evenly, so they rarely collide), and a scrambled bijection of the index (xorshifts and odd
  /// multipliers are one-to-one modulo 2^48) whose hashes collide like random ones.
  enum AddressPattern: String, CaseIterable, Sendable {
    case sequential
    case scrambled

    func address(_ index: Int) -> MACAddress {
      switch self {
      case .sequential:
        return MACAddress(rawValue: 0x5254_0000_0000 + UInt64(index))
      case .scrambled:
        let mask: UInt64 = 0xFFFF_FFFF_FFFF
        var x = UInt64(index)
        x ^= x >> 24
        x = (x &* 0xD6E8_FEB8_6659) & mask
        x ^= x >> 24
        x = (x &* 0x9FB2_1C65_1E97) & mask
        x ^= x >> 24
        return MACAddress(rawValue: x)
      }
    }
  }

  /// With no static part the index is at its densest (1000 entries in 2048 buckets).
  @Test(arguments: AddressPattern.allCases, [0, 256])
  func hundredThousandAddressesThroughAThousandSlots(pattern: AddressPattern, staticCapacity: Int) {
    let capacity = 1_000
    let total = 100_000
    var table = MACTable(capacity: capacity, aging: aging, staticCapacity: staticCapacity)
    var largestCount = 0
    var unexpectedOutcomes = 0
    for index in 0..<total {
      let now = t0 + .nanoseconds(Int64(index))
      let vlan = UInt16(1 + index % 3)
      if table.learn(pattern.address(index), vlan: vlan, on: index % 7, at: now) != .learned {
        unexpectedOutcomes += 1
      }
      largestCount = max(largestCount, table.count)
    }
    let end = t0 + .nanoseconds(Int64(total))
    #expect(unexpectedOutcomes == 0)
    #expect(largestCount == capacity)
    #expect(table.count == capacity)
    #expect(table.statistics.learned == UInt64(total))
    #expect(table.statistics.evicted == UInt64(total - capacity))
    #expect(table.statistics.expired == 0)

    // Backward-shift deletion kept every probe chain intact: all survivors are found...
    var missing = 0
    for index in (total - capacity)..<total {
      let vlan = UInt16(1 + index % 3)
      if table.lookup(pattern.address(index), vlan: vlan, at: end) != index % 7 { missing += 1 }
    }
    #expect(missing == 0)
    // ...and no evicted address lingers.
    var lingering = 0
    for index in 0..<(total - capacity) {
      let vlan = UInt16(1 + index % 3)
      if table.lookup(pattern.address(index), vlan: vlan, at: end) != nil { lingering += 1 }
    }
    #expect(lingering == 0)
    #expect(table.entries(at: end).count == capacity)

    // Sweeping everything leaves an empty, working index.
    #expect(table.expire(at: end + aging) == capacity)
    #expect(table.count == 0)
    #expect(table.entries(at: end + aging).isEmpty)
    #expect(table.learn(pattern.address(0), vlan: 1, on: 1, at: end + aging) == .learned)
    #expect(table.lookup(pattern.address(0), vlan: 1, at: end + aging) == 1)
  }

  // MARK: Static entries

  @Test func staticEntriesNeverAge() {
    var table = MACTable(capacity: 16, aging: aging)
    #expect(table.addStatic(mac(1), vlan: 1, port: 4) == true)
    #expect(table.staticCount == 1)
    #expect(table.learnedCount == 0)
    let tenYears = t0 + .seconds(10 * 365 * 24 * 3_600)
    #expect(table.lookup(mac(1), vlan: 1, at: tenYears) == 4)
    #expect(table.expire(at: tenYears) == 0)
    #expect(table.count == 1)
    let rows = table.entries(at: tenYears)
    #expect(rows.map(\.isStatic) == [true])
    #expect(rows.map(\.ageNanoseconds) == [0])
    #expect(rows.map(\.port) == [4])
  }

  @Test func staticEntriesCannotBeMovedByLearning() {
    var table = MACTable(capacity: 16, aging: aging)
    table.addStatic(mac(1), vlan: 1, port: 4)
    #expect(table.learn(mac(1), vlan: 1, on: 2, at: t0) == .staticConflict)
    #expect(table.learn(mac(1), vlan: 1, on: 4, at: t0) == .staticMatch)
    #expect(table.lookup(mac(1), vlan: 1, at: t0) == 4)
    #expect(table.statistics.learned == 0)
    #expect(table.statistics.moved == 0)
    // In another VLAN the same address is learned normally.
    #expect(table.learn(mac(1), vlan: 2, on: 2, at: t0) == .learned)
  }

  @Test func staticEntriesSurviveAFullLearnedTableAndFlushes() {
    var table = MACTable(capacity: 4, aging: aging, staticCapacity: 2)
    #expect(table.addStatic(mac(100), vlan: 1, port: 0) == true)
    #expect(table.addStatic(mac(101), vlan: 1, port: 1) == true)
    for n in 0..<20 {
      #expect(
        table.learn(mac(UInt64(n)), vlan: 1, on: n % 2, at: t0 + .seconds(Int64(n))) == .learned)
      #expect(table.learnedCount <= 4)
    }
    let now = t0 + .seconds(20)
    #expect(table.count == 6)
    #expect(table.staticCount == 2)
    #expect(table.statistics.evicted == 16)
    #expect(table.lookup(mac(100), vlan: 1, at: now) == 0)
    #expect(table.lookup(mac(101), vlan: 1, at: now) == 1)
    table.flush(port: 0)
    #expect(table.statistics.flushed == 2)
    #expect(table.lookup(mac(100), vlan: 1, at: now) == 0)
    #expect(table.lookup(mac(16), vlan: 1, at: now) == nil)
    #expect(table.lookup(mac(17), vlan: 1, at: now) == 1)
    #expect(table.count == 4)
  }

  @Test func staticCapacityIsEnforced() {
    var table = MACTable(capacity: 4, aging: aging, staticCapacity: 1)
    #expect(table.addStatic(mac(1), vlan: 1, port: 0) == true)
    #expect(table.addStatic(mac(2), vlan: 1, port: 0) == false)
    // Replacing the existing static entry needs no room.
    #expect(table.addStatic(mac(1), vlan: 1, port: 3) == true)
    #expect(table.lookup(mac(1), vlan: 1, at: t0) == 3)
    // A learned entry cannot be pinned while the static part is full: it stays learned.
    #expect(table.learn(mac(2), vlan: 1, on: 2, at: t0) == .learned)
    #expect(table.addStatic(mac(2), vlan: 1, port: 0) == false)
    #expect(table.lookup(mac(2), vlan: 1, at: t0) == 2)
    #expect(table.lookup(mac(2), vlan: 1, at: t0 + aging) == nil)
    #expect(table.staticCount == 1)
    #expect(table.learnedCount == 1)
  }

  @Test func pinningALearnedAddressMakesItStatic() {
    var table = MACTable(capacity: 4, aging: aging)
    #expect(table.learn(mac(1), vlan: 1, on: 2, at: t0) == .learned)
    #expect(table.addStatic(mac(1), vlan: 1, port: 3) == true)
    #expect(table.learnedCount == 0)
    #expect(table.staticCount == 1)
    #expect(table.lookup(mac(1), vlan: 1, at: t0 + aging * 10) == 3)
    #expect(table.expire(at: t0 + aging * 10) == 0)
    // It left the recency list: four new addresses fill the learned part without evicting it.
    for n in 2...5 { #expect(table.learn(mac(UInt64(n)), vlan: 1, on: 0, at: t0) == .learned) }
    #expect(table.statistics.evicted == 0)
    #expect(table.count == 5)
  }

  @Test func flushForgetsOnlyThatPortsLearnedEntries() {
    var table = MACTable(capacity: 16, aging: aging)
    #expect(table.learn(mac(1), vlan: 1, on: 0, at: t0) == .learned)
    #expect(table.learn(mac(2), vlan: 1, on: 1, at: t0) == .learned)
    #expect(table.learn(mac(3), vlan: 2, on: 1, at: t0) == .learned)
    #expect(table.learn(mac(4), vlan: 1, on: 2, at: t0) == .learned)
    table.addStatic(mac(5), vlan: 1, port: 1)
    table.flush(port: 1)
    #expect(table.statistics.flushed == 2)
    #expect(table.count == 3)
    #expect(table.lookup(mac(1), vlan: 1, at: t0) == 0)
    #expect(table.lookup(mac(2), vlan: 1, at: t0) == nil)
    #expect(table.lookup(mac(3), vlan: 2, at: t0) == nil)
    #expect(table.lookup(mac(4), vlan: 1, at: t0) == 2)
    #expect(table.lookup(mac(5), vlan: 1, at: t0) == 1)
  }

  // MARK: Against a reference model

  struct Shape: Sendable, CustomTestStringConvertible {
    var capacity: Int
    var staticCapacity: Int
    var testDescription: String { "capacity \(capacity), static \(staticCapacity)" }
  }

  @Test(
    arguments: [1, 7, 42, 2_024, 0xC0FFEE] as [UInt64],
    [
      Shape(capacity: 8, staticCapacity: 4), Shape(capacity: 8, staticCapacity: 0),
      Shape(capacity: 5, staticCapacity: 2), Shape(capacity: 1, staticCapacity: 1),
    ])
  func agreesWithAReferenceModel(seed: UInt64, shape: Shape) {
    var random = SplitMix64(seed: seed)
    let agingSeconds: UInt64 = 100
    var table = MACTable(
      capacity: shape.capacity, aging: .seconds(Int64(agingSeconds)),
      staticCapacity: shape.staticCapacity)
    var model = ReferenceMACTable(
      capacity: shape.capacity, staticCapacity: shape.staticCapacity,
      agingNanoseconds: agingSeconds * 1_000_000_000)
    // Twelve random addresses, each in two VLANs.
    let addresses = (0..<12).map { _ in MACAddress(rawValue: random.next()) }
    let keys = addresses.flatMap {
      [ReferenceMACTable.Key(vlan: 10, mac: $0), .init(vlan: 20, mac: $0)]
    }
    var now: UInt64 = 1_000_000_000_000

    for step in 0..<2_000 {
      // Mostly small steps, so the table fills before entries age; whole seconds hit the aging
      // boundary exactly, and now and then time stops one nanosecond short of it.
      let seconds: Int
      switch random.below(20) {
      case 0..<12: seconds = 0
      case 12..<19: seconds = 1 + random.below(5)
      default: seconds = random.below(2 * Int(agingSeconds))
      }
      now += UInt64(seconds) * 1_000_000_000
      if seconds > 0, random.below(5) == 0 { now -= 1 }
      let instant = Instant(nanoseconds: now)

      let key = keys[random.below(keys.count)]
      let port = random.below(4)
      let operation = random.below(100)
      let description: String
      let actualResult: String
      let expectedResult: String
      switch operation {
      case 0..<55:
        description = "learn \(key) on \(port)"
        actualResult = "\(table.learn(key.mac, vlan: key.vlan, on: port, at: instant))"
        expectedResult = "\(model.learn(key, on: port, at: now))"
      case 55..<65:
        description = "expire"
        actualResult = "\(table.expire(at: instant))"
        expectedResult = "\(model.expire(at: now))"
      case 65..<70:
        description = "flush \(port)"
        table.flush(port: port)
        model.flush(port: port)
        actualResult = ""
        expectedResult = ""
      case 70..<75:
        description = "static \(key) on \(port)"
        actualResult = "\(table.addStatic(key.mac, vlan: key.vlan, port: port))"
        expectedResult = "\(model.addStatic(key, port: port))"
      default:
        description = "look"
        actualResult = ""
        expectedResult = ""
      }

      let actual = Snapshot(
        result: actualResult, learnedCount: table.learnedCount, staticCount: table.staticCount,
        statistics: Statistics(table.statistics),
        lookups: keys.map { table.lookup($0.mac, vlan: $0.vlan, at: instant) },
        rows: table.entries(at: instant).map(Row.init))
      let expected = Snapshot(
        result: expectedResult, learnedCount: model.learnedCount, staticCount: model.staticCount,
        statistics: model.statistics, lookups: keys.map { model.lookup($0, at: now) },
        rows: model.rows(at: now))
      #expect(actual == expected, "step \(step) at \(instant): \(description)")
      #expect(table.learnedCount <= shape.capacity)
      if actual != expected { return }
    }
    // The walk exercised what it is meant to.
    #expect(model.statistics.evicted > 0)
    #expect(model.statistics.expired > 0)
    #expect(model.statistics.moved > 0)
    #expect(model.statistics.flushed > 0)
  }
}

// MARK: - Reference model

/// Counters compared between the table and the model.
private struct Statistics: Equatable {
  var learned: UInt64 = 0
  var moved: UInt64 = 0
  var evicted: UInt64 = 0
  var expired: UInt64 = 0
  var flushed: UInt64 = 0

  init() {}

  init(_ statistics: MACTableStatistics) {
    learned = statistics.learned
    moved = statistics.moved
    evicted = statistics.evicted
    expired = statistics.expired
    flushed = statistics.flushed
  }
}

private struct Row: Equatable {
  var vlan: UInt16
  var mac: MACAddress
  var port: Int
  var age: UInt64
  var isStatic: Bool

  init(vlan: UInt16, mac: MACAddress, port: Int, age: UInt64, isStatic: Bool) {
    self.vlan = vlan
    self.mac = mac
    self.port = port
    self.age = age
    self.isStatic = isStatic
  }

  init(_ entry: MACTableEntry) {
    self.init(
      vlan: entry.vlan, mac: entry.mac, port: entry.port, age: entry.ageNanoseconds,
      isStatic: entry.isStatic)
  }
}

private struct Snapshot: Equatable {
  var result: String
  var learnedCount: Int
  var staticCount: Int
  var statistics: Statistics
  var lookups: [Int?]
  var rows: [Row]
}

/// The MAC table's rules restated as plainly as possible: a dictionary, and an array of
/// learned keys in the order they were placed (a sighting places a key again once its place is a
/// relink interval old). Time only moves forward.
private struct ReferenceMACTable {
  struct Key: Hashable, CustomStringConvertible {
    var vlan: UInt16
    var mac: MACAddress
    var description: String { "\(mac)@\(vlan)" }
  }

  struct Entry {
    var port: Int
    var lastSeen: UInt64
    var isStatic: Bool
    /// When the key last moved to the end of `recency`.
    var linkedAt: UInt64 = 0
  }

  let capacity: Int
  let staticCapacity: Int
  let agingNanoseconds: UInt64
  var entries: [Key: Entry] = [:]
  /// Learned keys, least recently placed first: a sighting moves a key to the
  /// end only if it was placed there a relink interval ago or more.
  var recency: [Key] = []
  var relinkInterval: UInt64 { min(agingNanoseconds / 64, 1_000_000_000) }
  var statistics = Statistics()

  init(capacity: Int, staticCapacity: Int, agingNanoseconds: UInt64) {
    self.capacity = capacity
    self.staticCapacity = staticCapacity
    self.agingNanoseconds = agingNanoseconds
  }

  var learnedCount: Int { recency.count }
  var staticCount: Int { entries.count - recency.count }

  func isLive(_ entry: Entry, at now: UInt64) -> Bool {
    entry.isStatic || now - entry.lastSeen < agingNanoseconds
  }

  func lookup(_ key: Key, at now: UInt64) -> Int? {
    guard let entry = entries[key], isLive(entry, at: now) else { return nil }
    return entry.port
  }

  mutating func learn(_ key: Key, on port: Int, at now: UInt64) -> LearnOutcome {
    if var entry = entries[key] {
      if entry.isStatic { return entry.port == port ? .staticMatch : .staticConflict }
      let wasLive = isLive(entry, at: now)
      let previousPort = entry.port
      entry.port = port
      entry.lastSeen = now
      let isRefresh = wasLive && previousPort == port
      if !isRefresh || now - entry.linkedAt >= relinkInterval {
        entry.linkedAt = now
        recency.removeAll { $0 == key }
        recency.append(key)
      }
      entries[key] = entry
      if !wasLive {
        statistics.learned += 1
        return .learned
      }
      if previousPort == port { return .refreshed }
      statistics.moved += 1
      return .moved(from: previousPort)
    }
    if recency.count == capacity {
      let victim = recency.removeFirst()
      if isLive(entries[victim]!, at: now) {
        statistics.evicted += 1
      } else {
        statistics.expired += 1
      }
      entries[victim] = nil
    }
    entries[key] = Entry(port: port, lastSeen: now, isStatic: false, linkedAt: now)
    recency.append(key)
    statistics.learned += 1
    return .learned
  }

  mutating func expire(at now: UInt64) -> Int {
    // Every expired entry, wherever it sits in the order.
    let gone = recency.filter { !isLive(entries[$0]!, at: now) }
    for key in gone { entries[key] = nil }
    recency.removeAll { entries[$0] == nil }
    statistics.expired += UInt64(gone.count)
    return gone.count
  }

  mutating func flush(port: Int) {
    let gone = recency.filter { entries[$0]!.port == port }
    for key in gone { entries[key] = nil }
    recency.removeAll { entries[$0] == nil }
    statistics.flushed += UInt64(gone.count)
  }

  mutating func addStatic(_ key: Key, port: Int) -> Bool {
    if var entry = entries[key] {
      if !entry.isStatic {
        guard staticCount < staticCapacity else { return false }
        recency.removeAll { $0 == key }
        entry.isStatic = true
      }
      entry.port = port
      entries[key] = entry
      return true
    }
    guard staticCount < staticCapacity else { return false }
    entries[key] = Entry(port: port, lastSeen: 0, isStatic: true)
    return true
  }

  func rows(at now: UInt64) -> [Row] {
    entries.filter { isLive($0.value, at: now) }
      .map { key, entry in
        Row(
          vlan: key.vlan, mac: key.mac, port: entry.port,
          age: entry.isStatic ? 0 : now - entry.lastSeen, isStatic: entry.isStatic)
      }
      .sorted { ($0.vlan, $0.mac) < ($1.vlan, $1.mac) }
  }
}

/// A small deterministic generator (SplitMix64), so every run walks the same
/// sequence (and a failure's seed reproduces it); for the suites of this target.
struct SplitMix64 {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A number in `0..<bound` (the slight modulo bias does not matter here).
  mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

@Suite("MACTable per-port limit")
struct MACTableLimitTests {
  private let t0 = Instant.seconds(50)
  private func mac(_ last: UInt8) -> MACAddress { MACAddress(0x02, 0, 0, 0, 0, last) }

  @Test func aPortAtItsLimitLearnsNothingNew() {
    var table = MACTable(capacity: 16, aging: .seconds(10), portCount: 3)
    #expect(table.learn(mac(1), vlan: 1, on: 0, at: t0, limit: 2) == .learned)
    #expect(table.learn(mac(2), vlan: 1, on: 0, at: t0, limit: 2) == .learned)
    #expect(table.learn(mac(3), vlan: 1, on: 0, at: t0, limit: 2) == .limitReached)
    #expect(table.learn(mac(1), vlan: 1, on: 0, at: t0, limit: 2) == .refreshed)
    #expect(table.learn(mac(4), vlan: 1, on: 1, at: t0, limit: 2) == .learned, "per port")
    #expect(table.learnedCount(on: 0) == 2)
    #expect(table.learnedCount(on: 1) == 1)
    #expect(table.lookup(mac(3), vlan: 1, at: t0) == nil)
  }

  @Test func countsFollowMovesFlushesExpiryAndEviction() {
    var table = MACTable(capacity: 3, aging: .seconds(10), portCount: 3)
    _ = table.learn(mac(1), vlan: 1, on: 0, at: t0)
    _ = table.learn(mac(2), vlan: 1, on: 0, at: t0)
    _ = table.learn(mac(1), vlan: 1, on: 1, at: t0)
    #expect(table.learnedCount(on: 0) == 1)
    #expect(table.learnedCount(on: 1) == 1)
    _ = table.learn(mac(3), vlan: 1, on: 2, at: t0)
    _ = table.learn(mac(4), vlan: 1, on: 2, at: t0)  // evicts mac 2, the oldest
    #expect(table.learnedCount(on: 0) == 0)
    #expect(table.learnedCount(on: 2) == 2)
    table.flush(port: 2)
    #expect(table.learnedCount(on: 2) == 0)
    table.expire(at: t0 + .seconds(10))
    #expect(table.learnedCount(on: 1) == 0)
    #expect(table.count == 0)
    _ = table.learn(mac(5), vlan: 1, on: 1, at: t0)
    let madeStatic = table.addStatic(mac(5), vlan: 1, port: 1)
    #expect(madeStatic)
    #expect(table.learnedCount(on: 1) == 0, "a learned entry made static no longer counts")
  }

  @Test func anExpiredAddressMovingToAFullPortIsLearnedAfresh() {
    // Found by the frame fuzzer: checking port 0's limit swept the moving
    // entry itself, and learning then went on with its freed slot.
    var table = MACTable(capacity: 16, aging: .seconds(10), portCount: 2)
    _ = table.learn(mac(1), vlan: 1, on: 0, at: t0, limit: 1)
    _ = table.learn(mac(2), vlan: 1, on: 1, at: t0)
    let later = t0 + .seconds(10)
    #expect(table.learn(mac(2), vlan: 1, on: 0, at: later, limit: 1) == .learned)
    #expect(table.lookup(mac(2), vlan: 1, at: later) == 0)
    #expect(table.learnedCount(on: 0) == 1)
    #expect(table.learnedCount(on: 1) == 0)
    #expect(table.count == 1)
    #expect(table.entries(at: later).map(\.mac) == [mac(2)])
  }

  @Test func expiredEntriesMakeRoomUnderTheLimit() {
    var table = MACTable(capacity: 16, aging: .seconds(10), portCount: 1)
    _ = table.learn(mac(1), vlan: 1, on: 0, at: t0, limit: 1)
    #expect(table.learn(mac(2), vlan: 1, on: 0, at: t0 + .seconds(9), limit: 1) == .limitReached)
    #expect(table.learn(mac(2), vlan: 1, on: 0, at: t0 + .seconds(10), limit: 1) == .learned)
    #expect(table.learnedCount(on: 0) == 1)
  }
}
