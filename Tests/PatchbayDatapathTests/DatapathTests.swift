import Foundation
import PatchbayCore
import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// The datapath thread between real TAPs: frames injected on one TAP's
/// interface with a packet socket come out of the others.
@Suite(.serialized, .enabled(if: canMakeInterfaces, "needs root with CAP_NET_ADMIN"))
struct DatapathTests {
  /// Sends `frames` (hex) on `interface`, through python3's AF_PACKET socket.
  func inject(_ frames: [String], on interface: String) throws {
    let script = """
      import socket, sys
      s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
      s.bind((sys.argv[1], 0))
      for frame in sys.argv[2:]:
          s.send(bytes.fromhex(frame))
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, interface] + frames
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
  }

  func waitUntil(_ condition: () -> Bool) -> Bool {
    for _ in 0..<200 {
      if condition() { return true }
      usleep(10_000)
    }
    return false
  }

  @Test func floodsLearnsAndForwardsBetweenTAPs() throws {
    let names = ["pbtest-dp0", "pbtest-dp1", "pbtest-dp2"]
    let taps = try names.map { name in
      let tap = try TapDevice.create(named: name)
      try tap.setUp()
      return tap
    }
    defer { taps.forEach { $0.close() } }
    let bridge = Bridge(
      name: "sw", ports: names.map { BridgePortConfiguration(name: $0) }, macTableSize: 16)
    let datapath = try Datapath(
      bridges: [bridge],
      ports: taps.enumerated().map {
        DatapathPort(descriptor: $1.descriptor.rawValue, switchIndex: 0, portIndex: $0)
      })
    datapath.start()
    defer { datapath.stop() }

    // A broadcast from a host behind port 0 floods to ports 1 and 2.
    let broadcast = "ffffffffffff" + "020000000a01" + "88b5" + String(repeating: "00", count: 46)
    // The kernel may add its own frames (IPv6 router solicitations) on these
    // up interfaces, so the counters alone do not show that the test's frames
    // were switched: wait for their sources in the table.
    func learned(_ mac: String, on port: Int) -> Bool {
      datapath.perform {
        $0.bridges[0].table.entries(at: MonotonicClock.now())
          .contains { $0.mac.description == mac && $0.port == port }
      }
    }
    try inject([broadcast], on: names[0])
    #expect(waitUntil { learned("02:00:00:00:0a:01", on: 0) })
    #expect(waitUntil { datapath.perform { $0.bridges[0].counters[2].transmittedPackets } >= 1 })
    // A reply from port 2 to the learned MAC goes to port 0.
    let reply = "020000000a01" + "020000000a03" + "88b5" + String(repeating: "00", count: 46)
    try inject([reply], on: names[2])
    #expect(waitUntil { learned("02:00:00:00:0a:03", on: 2) })

    let counters = datapath.perform { $0.bridges[0].counters }
    #expect(counters[0].receivedPackets >= 1)
    #expect(counters[2].receivedPackets >= 1)
    #expect(counters[0].transmittedPackets >= 1)
  }

  @Test func aVanishedInterfaceTakesOnlyItsPortDown() throws {
    let names = ["pbtest-dv0", "pbtest-dv1"]
    let taps = try names.map { name in
      let tap = try TapDevice.create(named: name)
      try tap.setUp()
      return tap
    }
    defer { taps.forEach { $0.close() } }
    let bridge = Bridge(name: "sw", ports: names.map { BridgePortConfiguration(name: $0) })
    let datapath = try Datapath(
      bridges: [bridge],
      ports: taps.enumerated().map {
        DatapathPort(descriptor: $1.descriptor.rawValue, switchIndex: 0, portIndex: $0)
      })
    datapath.start()
    defer { datapath.stop() }
    // Deleting the interface under the switch: the descriptor then reads EBADFD.
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
    process.arguments = ["link", "del", names[1]]
    try process.run()
    process.waitUntilExit()
    #expect(waitUntil { datapath.perform { !$0.bridges[0].ports[1].isUp } })
    #expect(datapath.perform { $0.bridges[0].ports[0].isUp })
  }
}

/// Software segmentation in the datapath, between socket pairs standing in for
/// TAPs (a datagram socket reads and writes whole frames, as a TAP does): a
/// superframe flooded to a port with `offload: false` leaves it as MTU-sized
/// frames with zeroed virtio-net headers and complete checksums, tagged where
/// the port tags; the default port gets the superframe as it came.
@Suite struct DatapathSoftwareOffloadTests {
  /// A non-blocking datagram socket pair: (the datapath's end, the test's end).
  func socketPair() throws -> (Int32, Int32) {
    var fds: [Int32] = [0, 0]
    try #require(
      socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds) == 0)
    var size: Int32 = 4 << 20
    for fd in fds { setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, 4) }
    return (fds[0], fds[1])
  }

  /// Every datagram waiting on `fd`, waiting up to two seconds for the first `expected`.
  func drain(_ fd: Int32, expected: Int) -> [[UInt8]] {
    var frames: [[UInt8]] = []
    var buffer = [UInt8](repeating: 0, count: 70_000)
    for _ in 0..<200 {
      while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        guard count > 0 else { break }
        frames.append(Array(buffer[0..<count]))
      }
      if frames.count >= expected { break }
      usleep(10_000)
    }
    return frames
  }

  /// A TCP/IPv4 superframe of `payload` bytes to an unknown MAC (so it floods), with its TSO header.
  func superframe(payload: [UInt8]) -> [UInt8] {
    let header = VirtioNetHeader(
      flags: VirtioNetHeader.needsChecksum, gsoTypeByte: 1, headerLength: 54, gsoSize: 1448,
      checksumStart: 34, checksumOffset: 16)
    let total = 20 + 20 + payload.count
    var frame: [UInt8] = [0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]
    frame += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0x12, 0x34, 0x40, 0, 64, 6, 0, 0]
    frame += [10, 0, 0, 1, 10, 0, 0, 2]
    frame += [
      0x30, 0x39, 0x00, 0x50, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0,
    ]
    return header.bytes + frame + payload
  }

  /// True when the TCP checksum of the IPv4 packet at `ip` in `frame` is right.
  func tcpChecksumIsValid(_ frame: [UInt8], ip: Int) -> Bool {
    let transport = ip + Int(frame[ip] & 0x0F) * 4
    let address = { (at: Int) in
      IPv4Address(frame[at], frame[at + 1], frame[at + 2], frame[at + 3])
    }
    let pseudo = InternetChecksum.pseudoHeaderSum(
      source: address(ip + 12), destination: address(ip + 16), protocol: .tcp,
      length: UInt16(frame.count - transport))
    return Array(frame[transport...]).withUnsafeBytes { InternetChecksum.sum($0, into: pseudo) }
      == 0xFFFF
  }

  @Test func aSuperframeLeavesAPortWithoutOffloadsAsSegments() throws {
    let pairs = try (0..<4).map { _ in try socketPair() }
    defer { for (a, b) in pairs { close(a); close(b) } }
    let bridge = Bridge(
      name: "sw",
      ports: [
        BridgePortConfiguration(name: "in"), BridgePortConfiguration(name: "plain"),
        BridgePortConfiguration(name: "flat"),
        BridgePortConfiguration(
          name: "flat-trunk",
          mode: .trunk(allowed: VLANBitmap([1]), native: nil, nativeTagged: false)),
      ],
      macTableSize: 16)
    let datapath = try Datapath(
      bridges: [bridge],
      ports: pairs.enumerated().map {
        DatapathPort(descriptor: $1.0, switchIndex: 0, portIndex: $0)
      },
      acceptsOffloads: [true, true, false, false])
    datapath.start()
    defer { datapath.stop() }

    let payload = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let sent = superframe(payload: payload)
    #expect(sent.withUnsafeBytes { write(pairs[0].1, $0.baseAddress!, $0.count) } == sent.count)

    // The default port: the superframe and its header, as they came.
    let plain = drain(pairs[1].1, expected: 1)
    #expect(plain == [sent])
    for (port, tagLength) in [(2, 0), (3, 4)] {
      let frames = drain(pairs[port].1, expected: 4)
      #expect(frames.count == 4, "port \(port)")
      var carried: [UInt8] = []
      for (index, frame) in frames.enumerated() {
        let ip = 14 + tagLength
        #expect(frame[0..<10].allSatisfy { $0 == 0 }, "a zeroed virtio-net header")
        let packet = Array(frame[10...])
        #expect(packet.count <= 1514 + tagLength)
        if tagLength == 4 { #expect(packet[12...15] == [0x81, 0x00, 0x00, 0x01]) }
        #expect(Int(packet[ip + 2]) << 8 | Int(packet[ip + 3]) == packet.count - ip)
        #expect(packet[ip + 4...ip + 5] == [0x12, UInt8(0x34 + index)])
        #expect(Array(packet[ip..<ip + 20]).withUnsafeBytes { InternetChecksum.checksum($0) } == 0)
        #expect(tcpChecksumIsValid(packet, ip: ip), "segment \(index) on port \(port)")
        #expect(packet[ip + 33] == (index == 3 ? 0x18 : 0x10), "PSH on the last segment only")
        carried += packet[(ip + 40)...]
      }
      #expect(carried == payload, "port \(port)")
    }
    let counters = datapath.perform { $0.bridges[0].counters }
    #expect(counters[1].transmittedPackets == 1)
    #expect(counters[2].transmittedPackets == 4)
    #expect(counters[3].transmittedPackets == 4)
    let lastSegment = 54 + 5000 - 3 * 1448
    let segmentBytes = UInt64(3 * (54 + 1448) + lastSegment)
    #expect(counters[2].transmittedBytes == segmentBytes)

    // A superframe whose checksum start misses its TCP header: refused as bad-offload
    // on the ports that segment, carried as it is to the one that does not.
    var bad = sent
    bad[6] = 30
    #expect(bad.withUnsafeBytes { write(pairs[0].1, $0.baseAddress!, $0.count) } == bad.count)
    #expect(drain(pairs[1].1, expected: 1) == [bad])
    let after = datapath.perform { $0.bridges[0].counters }
    #expect(after[2][transmitDropped: .badOffload] == 1)
    #expect(after[3][transmitDropped: .badOffload] == 1)
    #expect(after[2].transmittedPackets == 4)
  }
}
