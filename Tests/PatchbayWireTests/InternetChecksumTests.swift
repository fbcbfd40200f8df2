import PatchbayWire
import Testing

/// A plain RFC 1071 sum, word by word, to check the fast one against.
private func referenceSum(_ bytes: [UInt8]) -> UInt16 {
  var total: UInt32 = 0
  var index = 0
  while index < bytes.count {
    let high = UInt32(bytes[index]) << 8
    let low = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
    total += high | low
    total = (total & 0xFFFF) + (total >> 16)
    index += 2
  }
  return UInt16(total)
}

private func sum(_ bytes: [UInt8], into partial: UInt32 = 0) -> UInt32 {
  bytes.withUnsafeBytes { InternetChecksum.sum($0, into: partial) }
}

private func checksum(_ bytes: [UInt8]) -> UInt16 {
  bytes.withUnsafeBytes { InternetChecksum.checksum($0) }
}

struct InternetChecksumTests {
  @Test func rfc1071NumericalExample() {
    // RFC 1071 §3: these eight bytes sum to 0xddf2, whatever the byte order of the machine.
    let bytes: [UInt8] = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]
    #expect(sum(bytes) == 0xDDF2)
    #expect(checksum(bytes) == 0x220D)
  }

  @Test func wikipediaHeaderChecksum() {
    #expect(checksum(Sample.wikipediaIPv4Header) == 0)
    var zeroed = Sample.wikipediaIPv4Header
    zeroed[10] = 0
    zeroed[11] = 0
    #expect(checksum(zeroed) == 0xB861)
  }

  @Test func oddLengthPadsTheLastByteWithZero() {
    #expect(sum([]) == 0)
    #expect(sum([0x01]) == 0x0100)
    #expect(sum([0x01, 0x02, 0x03]) == 0x0402)
    #expect(sum([0xFF, 0xFF, 0xFF]) == 0xFF00)
  }

  @Test func carriesWrapAround() {
    // 0xffff + 0x0001 is one's-complement 0x0001 after the end-around carry.
    #expect(sum([0xFF, 0xFF, 0x00, 0x01]) == 0x0001)
    #expect(sum([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x02]) == 0x0002)
  }

  @Test func finishComplementsAndFolds() {
    #expect(InternetChecksum.finish(0) == 0xFFFF)
    #expect(InternetChecksum.finish(0xFFFF) == 0)
    #expect(InternetChecksum.finish(0x1_0000) == 0xFFFE)  // folds to 0x0001
    #expect(InternetChecksum.finish(0xDDF2) == 0x220D)
  }

  @Test func fastSumMatchesTheReferenceAtEveryLengthAndAlignment() {
    var generator = SplitMix64(seed: 1071)
    for length in 0...80 {
      for start in 0..<8 {
        let buffer = (0..<(start + length)).map { _ in UInt8.random(in: 0...255, using: &generator)
        }
        let piece = Array(buffer[start...])
        let fast = buffer.withUnsafeBytes {
          InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: $0[start...]))
        }
        #expect(fast == UInt32(referenceSum(piece)), "length \(length) start \(start)")
      }
    }
  }

  @Test func allOnesWordsDoNotOverflowTheAccumulator() {
    let bytes = [UInt8](repeating: 0xFF, count: 9000)
    #expect(sum(bytes) == UInt32(referenceSum(bytes)))
    #expect(sum(bytes) == 0xFFFF)
  }

  @Test func sumsOfEvenPiecesCombine() {
    var generator = SplitMix64(seed: 7)
    for _ in 0..<200 {
      let first = (0..<(2 * Int.random(in: 0...40, using: &generator))).map { _ in
        UInt8.random(in: 0...255, using: &generator)
      }
      let second = (0..<Int.random(in: 0...81, using: &generator)).map { _ in
        UInt8.random(in: 0...255, using: &generator)
      }
      let whole = sum(first + second)
      #expect(sum(second, into: sum(first)) == whole)
      #expect(InternetChecksum.combine(sum(first), sum(second)) == whole)
    }
  }

  @Test func ipv4PseudoHeaderSum() {
    // 0x0a00 + 0x0a0b + 0x0a00 + 0x0a0c + 6 + 40, summed by hand.
    let value = InternetChecksum.pseudoHeaderSum(
      source: IPv4Address(10, 0, 10, 11), destination: IPv4Address(10, 0, 10, 12),
      protocol: .tcp, length: 40)
    #expect(value == 0x2845)
    let verified = InternetChecksum.finish(sum(Sample.tcpSynSegment, into: value))
    #expect(verified == 0)
  }

  @Test func ipv6PseudoHeaderSum() {
    // 0x2001 + 0x0db8 + 0x0011 + 0x2001 + 0x0db8 + 0x0053 + 37 + 17, summed by hand.
    let value = InternetChecksum.pseudoHeaderSum(
      source: IPv6Address("2001:db8::11")!, destination: IPv6Address("2001:db8::53")!,
      nextHeader: .udp, length: 37)
    #expect(value == 0x5C0C)
    #expect(InternetChecksum.finish(sum(Sample.udpDNSDatagramIPv6, into: value)) == 0)
    let large = InternetChecksum.pseudoHeaderSum(
      source: .unspecified, destination: .unspecified, nextHeader: .tcp, length: 0x0001_0002)
    #expect(large == 0x0009)  // the upper-layer length is 32 bits: 0x0001 + 0x0002 + 6
  }

  @Test func pseudoHeaderEnumMatchesTheFunctions() {
    let v4 = IPPseudoHeader.ipv4(
      source: IPv4Address(10, 0, 10, 11), destination: IPv4Address(10, 0, 10, 12))
    #expect(v4.sum(protocol: .tcp, length: 40) == 0x2845)
    let v6 = IPPseudoHeader.ipv6(
      source: IPv6Address("2001:db8::11")!, destination: IPv6Address("2001:db8::53")!)
    #expect(v6.sum(protocol: .udp, length: 37) == 0x5C0C)
  }

  @Test func rfc1624Example() {
    // RFC 1624 §4: m = 0x5555 becomes 0x3285 under HC = 0xdd2f. Eqn. 3 gives 0x0000,
    // which is what recomputing from scratch gives; eqn. 2 would wrongly give 0xffff.
    #expect(InternetChecksum.update(0xDD2F, old: UInt16(0x5555), new: UInt16(0x3285)) == 0x0000)
  }

  @Test func incrementalUpdateOfAnAddressMatchesRecomputation() {
    // Rewrite the source of the echo request's IPv4 header, as NAT does.
    var header = Array(Sample.icmpEchoPacket[0..<20])
    let old = IPv4Address(10, 0, 10, 11).rawValue
    let new = IPv4Address(192, 0, 2, 7).rawValue
    let updated = InternetChecksum.update(0xD443, old: old, new: new)
    header[12...15] = [192, 0, 2, 7]
    header[10] = 0
    header[11] = 0
    #expect(updated == checksum(header))
  }

  @Test func incrementalUpdateMatchesRecomputationOverRandomEdits() {
    var generator = SplitMix64(seed: 1624)
    for _ in 0..<2000 {
      // A random 20-byte IPv4-like header; the version byte keeps it from being all zeros.
      var header = (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }
      header[0] = 0x45
      header[10] = 0
      header[11] = 0
      let stored = checksum(header)
      header[10] = UInt8(stored >> 8)
      header[11] = UInt8(stored & 0xFF)
      var running = stored
      for _ in 0..<8 {
        let wide = Bool.random(using: &generator)
        // Any aligned field but the version word and the checksum itself.
        let candidates = wide ? [4, 12, 16] : [2, 4, 6, 8, 12, 14, 16, 18]
        let offset = candidates.randomElement(using: &generator)!
        if wide {
          let old = UInt32(word(header, at: offset)) << 16 | UInt32(word(header, at: offset + 2))
          let new = UInt32.random(in: 0...UInt32.max, using: &generator)
          running = InternetChecksum.update(running, old: old, new: new)
          header[offset..<(offset + 4)] = [
            UInt8(new >> 24), UInt8((new >> 16) & 0xFF), UInt8((new >> 8) & 0xFF),
            UInt8(new & 0xFF),
          ]
        } else {
          let old = word(header, at: offset)
          let new = UInt16.random(in: 0...UInt16.max, using: &generator)
          running = InternetChecksum.update(running, old: old, new: new)
          header[offset] = UInt8(new >> 8)
          header[offset + 1] = UInt8(new & 0xFF)
        }
        var zeroed = header
        zeroed[10] = 0
        zeroed[11] = 0
        #expect(running == checksum(zeroed))
        header[10] = UInt8(running >> 8)
        header[11] = UInt8(running & 0xFF)
        #expect(checksum(header) == 0)
      }
    }
  }
}
