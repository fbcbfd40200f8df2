import PatchbayWire
import Testing

// Superframes are built byte by byte, and every expected segment is built
// again by hand from the test's own numbers (lengths, identifications,
// sequence numbers, flags), with checksums verified through the existing
// checksum code: the pseudo-header's sum plus the segment's sums to 0xFFFF.

private let destinationMAC: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
private let sourceMAC: [UInt8] = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]

/// MAC addresses, a 4-byte tag per TPID in `tags` (VLAN 10 and 20), then `etherType`.
private func ethernetHeader(tags: [UInt16] = [], etherType: UInt16) -> [UInt8] {
  var header = destinationMAC + sourceMAC
  for (index, tpid) in tags.enumerated() {
    header += [UInt8(tpid >> 8), UInt8(tpid & 0xFF), 0x00, UInt8(10 * (index + 1))]
  }
  return header + [UInt8(etherType >> 8), UInt8(etherType & 0xFF)]
}

/// An IPv4 header (DF set, ID 0xfff0, so that IDs wrap) carrying `proto`, with `options` words.
private func ipv4Header(proto: UInt8, totalLength: Int, options: Int = 0) -> [UInt8] {
  var header: [UInt8] = [
    UInt8(0x45 + options), 0x00, UInt8(totalLength >> 8 & 0xFF), UInt8(totalLength & 0xFF),
    0xff, 0xf0, 0x40, 0x00, 0x40, proto, 0x00, 0x00,
    10, 0, 0, 1,  // 10.0.0.1
    10, 0, 0, 2,  // 10.0.0.2
  ]
  header += [UInt8](repeating: 0x01, count: options * 4)  // NOP options
  return header
}

/// An IPv6 header carrying `next` (fd00::1 -> fd00::2).
private func ipv6Header(next: UInt8, payloadLength: Int) -> [UInt8] {
  let source: [UInt8] = [0xfd] + [UInt8](repeating: 0, count: 14) + [1]
  let destination: [UInt8] = [0xfd] + [UInt8](repeating: 0, count: 14) + [2]
  return [0x60, 0, 0, 0, UInt8(payloadLength >> 8), UInt8(payloadLength & 0xFF), next, 64]
    + source + destination
}

/// A 32-byte TCP header (12 bytes of options), sequence 0xfffff000 (so it wraps), `flags`.
private func tcpHeader(flags: UInt8) -> [UInt8] {
  var header = [UInt8](repeating: 0, count: 32)
  header[0...3] = [0xd4, 0x31, 0x00, 0x50]  // ports 54321 -> 80
  header[4...7] = [0xff, 0xff, 0xf0, 0x00]
  header[8...11] = [0x00, 0x00, 0x10, 0x00]
  header[12] = 8 << 4
  header[13] = flags
  header[14...15] = [0x01, 0xf5]
  header[16...17] = [0xAA, 0xBB]  // a partial checksum: must be replaced
  header[20...31] = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]  // NOP NOP timestamps
  return header
}

/// An 8-byte UDP header with a placeholder length and checksum.
private let udpHeader: [UInt8] = [0xcf, 0x08, 0x13, 0x89, 0xFF, 0xFF, 0xCC, 0xDD]

/// `count` payload bytes that differ from one position to the next.
private func payload(_ count: Int) -> [UInt8] {
  (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
}

private func gsoHeader(
  type: VirtioNetHeader.GSOType, ecn: Bool = false, size: UInt16, checksumStart: Int,
  checksumOffset: Int, headerLength: UInt16 = 0
) -> VirtioNetHeader {
  VirtioNetHeader(
    flags: VirtioNetHeader.needsChecksum,
    gsoTypeByte: type.rawValue | (ecn ? VirtioNetHeader.ecnBit : 0), headerLength: headerLength,
    gsoSize: size, checksumStart: UInt16(checksumStart), checksumOffset: UInt16(checksumOffset))
}

/// Every frame the offload yields for `frame` under `header`.
private func run(_ frame: [UInt8], _ header: VirtioNetHeader) throws(SoftwareOffload.Failure)
  -> [[UInt8]]
{
  let result: Result<[[UInt8]], SoftwareOffload.Failure> = frame.withUnsafeBytes { bytes in
    do throws(SoftwareOffload.Failure) {
      var offload = try SoftwareOffload(frame: bytes, header: header)
      var buffer = [UInt8](repeating: 0xEE, count: offload.maximumSegmentLength)
      var out: [[UInt8]] = []
      while let length = buffer.withUnsafeMutableBytes({ offload.next(into: $0) }) {
        #expect(length <= offload.maximumSegmentLength)
        out.append(Array(buffer[0..<length]))
      }
      #expect(out.count == offload.segmentCount)
      return .success(out)
    } catch {
      return .failure(error)
    }
  }
  return try result.get()
}

private func failure(_ frame: [UInt8], _ header: VirtioNetHeader) -> SoftwareOffload.Failure? {
  do {
    _ = try run(frame, header)
    return nil
  } catch {
    return error
  }
}

private func word(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
  UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
}

private func setWord(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt16) {
  bytes[offset] = UInt8(value >> 8)
  bytes[offset + 1] = UInt8(value & 0xFF)
}

private func setLong(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
  for index in 0..<4 {
    bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (24 - 8 * index))
  }
}

/// The pseudo-header's sum for the transport message at `transport` of `frame`,
/// through the checksum module's own pseudo-header functions.
private func pseudoHeaderSum(_ frame: [UInt8], ip: Int, transport: Int, proto: IPProtocol)
  -> UInt32
{
  let length = frame.count - transport
  if frame[ip] >> 4 == 4 {
    let address = { (offset: Int) in
      IPv4Address(rawValue: UInt32(word(frame, offset)) << 16 | UInt32(word(frame, offset + 2)))
    }
    return InternetChecksum.pseudoHeaderSum(
      source: address(ip + 12), destination: address(ip + 16), protocol: proto,
      length: UInt16(length))
  }
  let address = { (offset: Int) in
    IPv6Address(rawValue: frame[offset..<offset + 16].reduce(UInt128(0)) { $0 << 8 | UInt128($1) })
  }
  return InternetChecksum.pseudoHeaderSum(
    source: address(ip + 8), destination: address(ip + 24), nextHeader: proto,
    length: UInt32(length))
}

/// True when the transport checksum of `frame` is right.
private func transportChecksumIsValid(
  _ frame: [UInt8], ip: Int, transport: Int, proto: IPProtocol
) -> Bool {
  let pseudo = pseudoHeaderSum(frame, ip: ip, transport: transport, proto: proto)
  let sum = Array(frame[transport...]).withUnsafeBytes { InternetChecksum.sum($0, into: pseudo) }
  return sum == 0xFFFF
}

/// True when the IPv4 header checksum of `frame` is right.
private func ipv4ChecksumIsValid(_ frame: [UInt8], ip: Int, transport: Int) -> Bool {
  Array(frame[ip..<transport]).withUnsafeBytes { InternetChecksum.checksum($0) } == 0
}

/// Fills in the checksum fields of a hand-built expected segment, with the same
/// independent code the checks use: the IPv4 header checksum and the transport one.
private func finishExpected(
  _ segment: inout [UInt8], ip: Int, transport: Int, field: Int, proto: IPProtocol
) {
  if segment[ip] >> 4 == 4 {
    setWord(&segment, ip + 10, 0)
    let checksum = Array(segment[ip..<transport]).withUnsafeBytes { InternetChecksum.checksum($0) }
    setWord(&segment, ip + 10, checksum)
  }
  setWord(&segment, field, 0)
  let pseudo = pseudoHeaderSum(segment, ip: ip, transport: transport, proto: proto)
  let sum = Array(segment[transport...]).withUnsafeBytes { InternetChecksum.sum($0, into: pseudo) }
  let checksum = InternetChecksum.finish(sum)
  setWord(&segment, field, checksum == 0 ? 0xFFFF : checksum)
}

/// A TCP superframe and the segments a NIC would make of it, built separately.
private struct TCPCase {
  var frame: [UInt8]
  var ip: Int
  var transport: Int
  var expected: [[UInt8]]

  init(ipv6: Bool, tags: [UInt16] = [], payloadLength: Int, size: Int, flags: UInt8) {
    let ethernet = ethernetHeader(tags: tags, etherType: ipv6 ? 0x86DD : 0x0800)
    let data = payload(payloadLength)
    let tcp = tcpHeader(flags: flags)
    let ipHeader =
      ipv6
      ? ipv6Header(next: 6, payloadLength: tcp.count + data.count)
      : ipv4Header(proto: 6, totalLength: 20 + tcp.count + data.count)
    frame = ethernet + ipHeader + tcp + data
    ip = ethernet.count
    transport = ip + ipHeader.count
    let segmentCount = (payloadLength + size - 1) / size
    expected = (0..<segmentCount).map { [ip, transport] index in
      let slice = Array(data[index * size..<min((index + 1) * size, payloadLength)])
      var segment = ethernet + ipHeader + tcp + slice
      if ipv6 {
        setWord(&segment, ip + 4, UInt16(tcp.count + slice.count))
      } else {
        setWord(&segment, ip + 2, UInt16(20 + tcp.count + slice.count))
        setWord(&segment, ip + 4, 0xfff0 &+ UInt16(index))
      }
      setLong(&segment, transport + 4, 0xffff_f000 &+ UInt32(index * size))
      var segmentFlags = flags
      if index != segmentCount - 1 { segmentFlags &= ~UInt8(0x09) }  // FIN, PSH
      if index != 0 { segmentFlags &= ~UInt8(0x80) }  // CWR
      segment[transport + 13] = segmentFlags
      finishExpected(&segment, ip: ip, transport: transport, field: transport + 16, proto: .tcp)
      return segment
    }
  }

  func header(size: Int, ecn: Bool = false, headerLength: UInt16 = 0) -> VirtioNetHeader {
    gsoHeader(
      type: frame[ip] >> 4 == 4 ? .tcpIPv4 : .tcpIPv6, ecn: ecn, size: UInt16(size),
      checksumStart: transport, checksumOffset: 16, headerLength: headerLength)
  }
}

/// Pins down software segmentation and checksum completion byte for byte:
/// TCP over IPv4 and IPv6 with and without VLAN tags, the flags only the first
/// or last segment keeps, UDP segmentation, checksum completion (0 written as
/// 0xFFFF), and every inconsistent header refused before a byte is written.
@Suite("SoftwareOffload")
struct SoftwareOffloadTests {
  @Test func tcpIPv4SuperframeBecomesSegmentsWithALastShortOne() throws {
    let test = TCPCase(ipv6: false, payloadLength: 3 * 1448 + 500, size: 1448, flags: 0x18)
    let segments = try run(test.frame, test.header(size: 1448))
    #expect(segments.count == 4)
    #expect(segments == test.expected)
    for (index, segment) in segments.enumerated() {
      #expect(segment.count == (index == 3 ? 14 + 20 + 32 + 500 : 14 + 20 + 32 + 1448))
      #expect(word(segment, 14 + 4) == 0xfff0 &+ UInt16(index))  // identification, wrapping
      #expect(ipv4ChecksumIsValid(segment, ip: 14, transport: 34))
      #expect(transportChecksumIsValid(segment, ip: 14, transport: 34, proto: .tcp))
    }
    // The sequence number wraps past 2^32 from the third segment on.
    #expect(Array(segments[3][38..<42]) == [0x00, 0x00, 0x00, 0xf8])
  }

  @Test func anExactMultipleHasNoShortSegment() throws {
    let test = TCPCase(ipv6: false, payloadLength: 3 * 1000, size: 1000, flags: 0x10)
    let segments = try run(test.frame, test.header(size: 1000))
    #expect(segments == test.expected)
    #expect(segments.map(\.count) == [1066, 1066, 1066])
  }

  @Test func finAndPshStayOnTheLastSegmentAndCwrOnTheFirst() throws {
    // CWR | ACK | PSH | FIN on a superframe of the ECN kind.
    let test = TCPCase(ipv6: false, payloadLength: 2500, size: 1000, flags: 0x99)
    let segments = try run(test.frame, test.header(size: 1000, ecn: true))
    #expect(segments.map { $0[34 + 13] } == [0x90, 0x10, 0x19])
    #expect(segments == test.expected)
  }

  @Test func tcpIPv6SuperframeUntaggedAndTagged() throws {
    for tags in [[], [0x8100], [0x88A8, 0x8100]] as [[UInt16]] {
      let test = TCPCase(ipv6: true, tags: tags, payloadLength: 4000, size: 1428, flags: 0x18)
      let segments = try run(test.frame, test.header(size: 1428))
      #expect(segments == test.expected, "tags \(tags)")
      for segment in segments {
        #expect(Int(word(segment, test.ip + 4)) == segment.count - test.ip - 40)
        #expect(
          transportChecksumIsValid(segment, ip: test.ip, transport: test.transport, proto: .tcp))
      }
      // The tags are copied into every segment.
      #expect(segments.allSatisfy { Array($0[0..<test.ip]) == Array(test.frame[0..<test.ip]) })
    }
  }

  @Test func tcpIPv4SuperframeBehindATag() throws {
    let test = TCPCase(ipv6: false, tags: [0x8100], payloadLength: 3000, size: 1448, flags: 0x10)
    let segments = try run(test.frame, test.header(size: 1448))
    #expect(segments == test.expected)
    #expect(segments.allSatisfy { ipv4ChecksumIsValid($0, ip: 18, transport: 38) })
  }

  @Test func headerLengthIsNotTrusted() throws {
    // The kernel may put the linear length (headers and some payload) there, or 0.
    let test = TCPCase(ipv6: false, payloadLength: 3000, size: 1448, flags: 0x10)
    for headerLength: UInt16 in [0, 54, 66, 200, 4000] {
      let segments = try run(test.frame, test.header(size: 1448, headerLength: headerLength))
      #expect(segments == test.expected, "hdr_len \(headerLength)")
    }
  }

  @Test func aSuperframeNoLongerThanOneSegmentIsSentAsOne() throws {
    let test = TCPCase(ipv6: false, payloadLength: 700, size: 1448, flags: 0x19)
    let segments = try run(test.frame, test.header(size: 1448))
    #expect(segments == test.expected)
    #expect(segments.count == 1 && segments[0][47] == 0x19)
  }

  @Test func ipv4OptionsAndIPv6ExtensionHeadersAreWalked() throws {
    // IPv4 with two option words: TCP at 14 + 28.
    let data = payload(2000)
    var frame = ethernetHeader(etherType: 0x0800)
    frame += ipv4Header(proto: 6, totalLength: 28 + 32 + 2000, options: 2)
    frame += tcpHeader(flags: 0x10) + data
    let segments = try run(
      frame, gsoHeader(type: .tcpIPv4, size: 1000, checksumStart: 42, checksumOffset: 16))
    #expect(segments.count == 2)
    for segment in segments {
      #expect(ipv4ChecksumIsValid(segment, ip: 14, transport: 42))
      #expect(transportChecksumIsValid(segment, ip: 14, transport: 42, proto: .tcp))
      #expect(Int(word(segment, 16)) == segment.count - 14)
    }
    // IPv6 with a hop-by-hop header (8 bytes) before TCP: TCP at 14 + 48.
    var v6 = ethernetHeader(etherType: 0x86DD) + ipv6Header(next: 0, payloadLength: 8 + 32 + 2000)
    v6 += [6, 0, 1, 4, 0, 0, 0, 0] + tcpHeader(flags: 0x10) + data
    let v6Segments = try run(
      v6, gsoHeader(type: .tcpIPv6, size: 1000, checksumStart: 62, checksumOffset: 16))
    #expect(v6Segments.count == 2)
    for segment in v6Segments {
      #expect(transportChecksumIsValid(segment, ip: 14, transport: 62, proto: .tcp))
      #expect(Int(word(segment, 18)) == segment.count - 54)
    }
  }

  @Test func udpSuperframeBecomesDatagramsEachWithItsLengthAndChecksum() throws {
    for ipv6 in [false, true] {
      for tags in [[], [0x8100]] as [[UInt16]] {
        let data = payload(3 * 1400 + 123)
        let ethernet = ethernetHeader(tags: tags, etherType: ipv6 ? 0x86DD : 0x0800)
        let ipHeader =
          ipv6
          ? ipv6Header(next: 17, payloadLength: 8 + data.count)
          : ipv4Header(proto: 17, totalLength: 28 + data.count)
        let frame = ethernet + ipHeader + udpHeader + data
        let ip = ethernet.count
        let transport = ip + ipHeader.count
        let segments = try run(
          frame, gsoHeader(type: .udpL4, size: 1400, checksumStart: transport, checksumOffset: 6))
        #expect(segments.count == 4)
        for (index, segment) in segments.enumerated() {
          let slice = Array(data[index * 1400..<min((index + 1) * 1400, data.count)])
          var expected = ethernet + ipHeader + udpHeader + slice
          if ipv6 {
            setWord(&expected, ip + 4, UInt16(8 + slice.count))
          } else {
            setWord(&expected, ip + 2, UInt16(28 + slice.count))
            setWord(&expected, ip + 4, 0xfff0 &+ UInt16(index))
          }
          setWord(&expected, transport + 4, UInt16(8 + slice.count))
          finishExpected(&expected, ip: ip, transport: transport, field: transport + 6, proto: .udp)
          #expect(segment == expected, "ipv6 \(ipv6) tags \(tags) segment \(index)")
          #expect(transportChecksumIsValid(segment, ip: ip, transport: transport, proto: .udp))
          #expect(word(segment, transport + 6) != 0)
        }
      }
    }
  }

  @Test func checksumCompletionFinishesWhatTheSeedStarted() throws {
    // A TCP/IPv4 frame whose checksum field holds the pseudo-header's sum, as Linux leaves it.
    let data = payload(999)
    var frame =
      ethernetHeader(etherType: 0x0800) + ipv4Header(proto: 6, totalLength: 20 + 32 + 999)
      + tcpHeader(flags: 0x18) + data
    setWord(&frame, 50, 0)
    let seed = pseudoHeaderSum(frame, ip: 14, transport: 34, proto: .tcp)
    setWord(&frame, 50, UInt16(seed))
    let header = VirtioNetHeader(
      flags: VirtioNetHeader.needsChecksum, gsoTypeByte: 0, headerLength: 0, gsoSize: 0,
      checksumStart: 34, checksumOffset: 16)
    let out = try run(frame, header)
    #expect(out.count == 1)
    #expect(transportChecksumIsValid(out[0], ip: 14, transport: 34, proto: .tcp))
    // Nothing but the checksum changed.
    var expected = frame
    finishExpected(&expected, ip: 14, transport: 34, field: 50, proto: .tcp)
    expected[24...25] = frame[24...25]  // the IPv4 header checksum is left as it was
    #expect(out[0] == expected)
  }

  @Test func aCompletedChecksumOfZeroIsWrittenAsFFFF() throws {
    // A UDP/IPv4 frame whose last payload word makes the complete sum 0xFFFF:
    // the checksum is then 0, which UDP reserves for "none", so 0xFFFF goes in.
    var frame =
      ethernetHeader(etherType: 0x0800) + ipv4Header(proto: 17, totalLength: 28 + 64)
      + udpHeader + payload(62) + [0, 0]
    setWord(&frame, 38, UInt16(8 + 64))
    setWord(&frame, 40, 0)
    let seed = pseudoHeaderSum(frame, ip: 14, transport: 34, proto: .udp)
    setWord(&frame, 40, UInt16(seed))
    let partial = Array(frame[34...]).withUnsafeBytes { InternetChecksum.sum($0) }
    setWord(&frame, frame.count - 2, 0xFFFF - UInt16(partial))
    let header = VirtioNetHeader(
      flags: VirtioNetHeader.needsChecksum, gsoTypeByte: 0, headerLength: 0, gsoSize: 0,
      checksumStart: 34, checksumOffset: 6)
    let out = try run(frame, header)
    #expect(word(out[0], 40) == 0xFFFF)
    #expect(transportChecksumIsValid(out[0], ip: 14, transport: 34, proto: .udp))
  }

  @Test func aFrameWithoutOffloadRequestIsCopiedUnchanged() throws {
    let frame = ethernetHeader(etherType: 0x0806) + payload(46)
    #expect(try run(frame, .plain) == [frame])
  }

  @Test func inconsistentHeadersAreRefused() {
    let test = TCPCase(ipv6: false, payloadLength: 3000, size: 1448, flags: 0x10)
    let frame = test.frame
    let partial = { (start: Int, offset: Int) in
      VirtioNetHeader(
        flags: VirtioNetHeader.needsChecksum, gsoTypeByte: 0, headerLength: 0, gsoSize: 0,
        checksumStart: UInt16(start), checksumOffset: UInt16(offset))
    }
    // Checksum completion: start past the end, field past the end, start inside the MAC header.
    #expect(failure(frame, partial(frame.count + 10, 0)) == .badChecksumLocation)
    #expect(failure(frame, partial(frame.count - 1, 16)) == .badChecksumLocation)
    #expect(failure(frame, partial(6, 0)) == .badChecksumLocation)
    // GSO: segment size 0, no partial checksum, legacy UFO, an unknown type.
    #expect(failure(frame, test.header(size: 0)) == .missingGSOFields)
    var plainGSO = test.header(size: 1448)
    plainGSO.flags = 0
    #expect(failure(frame, plainGSO) == .missingGSOFields)
    #expect(
      failure(frame, gsoHeader(type: .udp, size: 1448, checksumStart: 34, checksumOffset: 6))
        == .unsupportedType)
    var unknown = test.header(size: 1448)
    unknown.gsoTypeByte = 7
    #expect(failure(frame, unknown) == .unsupportedType)
    // A TCP type over UDP, the IPv6 type over IPv4, UDP over TCP, a non-IP EtherType.
    var udpInside = frame
    udpInside[14 + 9] = 17
    #expect(failure(udpInside, test.header(size: 1448)) == .protocolMismatch)
    #expect(
      failure(frame, gsoHeader(type: .tcpIPv6, size: 1448, checksumStart: 34, checksumOffset: 16))
        == .protocolMismatch)
    #expect(
      failure(frame, gsoHeader(type: .udpL4, size: 1448, checksumStart: 34, checksumOffset: 6))
        == .protocolMismatch)
    var arp = frame
    arp[12...13] = [0x08, 0x06]
    #expect(failure(arp, test.header(size: 1448)) == .protocolMismatch)
    // An IPv4 fragment, and three tags.
    var fragment = frame
    fragment[14 + 6] = 0x20
    #expect(failure(fragment, test.header(size: 1448)) == .protocolMismatch)
    let threeTags = TCPCase(
      ipv6: false, tags: [0x88A8, 0x8100, 0x8100], payloadLength: 3000, size: 1448, flags: 0x10)
    #expect(failure(threeTags.frame, threeTags.header(size: 1448)) == .protocolMismatch)
    // The checksum start not at the transport header, or the offset not at its checksum.
    #expect(
      failure(frame, gsoHeader(type: .tcpIPv4, size: 1448, checksumStart: 38, checksumOffset: 16))
        == .badChecksumLocation)
    #expect(
      failure(frame, gsoHeader(type: .tcpIPv4, size: 1448, checksumStart: 34, checksumOffset: 6))
        == .badChecksumLocation)
    var badDataOffset = frame
    badDataOffset[34 + 12] = 4 << 4
    #expect(failure(badDataOffset, test.header(size: 1448)) == .badChecksumLocation)
    // Truncated: inside the TCP header, inside its options, inside the IP header, no EtherType.
    #expect(failure(Array(frame[0..<50]), test.header(size: 1448)) == .truncated)
    #expect(failure(Array(frame[0..<60]), test.header(size: 1448)) == .truncated)
    #expect(failure(Array(frame[0..<30]), test.header(size: 1448)) == .truncated)
    #expect(failure(Array(frame[0..<13]), test.header(size: 1448)) == .truncated)
    #expect(
      failure(
        Array(TCPCase(ipv6: true, payloadLength: 10, size: 1, flags: 0).frame[0..<40]),
        gsoHeader(type: .tcpIPv6, size: 1448, checksumStart: 54, checksumOffset: 16)) == .truncated)
    // UDP header cut short.
    let udpFrame =
      ethernetHeader(etherType: 0x0800) + ipv4Header(proto: 17, totalLength: 28) + udpHeader
    #expect(
      failure(
        Array(udpFrame[0..<40]),
        gsoHeader(type: .udpL4, size: 100, checksumStart: 34, checksumOffset: 6))
        == .truncated)
  }
}
