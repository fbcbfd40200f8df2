import Foundation
import Testing

/// Ports with `offload: false` end to end: what the switch sends out of them is
/// MTU-sized with complete checksums (software segmentation and checksum
/// completion), checked by hashing transfers at both ends, by tcpdump's own
/// checksum verification inside the receiving namespace, by frame lengths,
/// across a VLAN push, for UDP segmentation offload, and in the port counters.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct SoftwareOffloadTests {
  /// h1 and h3 with offloads (the default), h2 without.
  static func lab(_ name: String) -> String {
    """
    name: \(name)
    switches:
      core:
        ports:
          h1: {}
          h2: {offload: false}
          h3: {}
    hosts:
      h1: {port: core/h1, address: 10.0.0.1/24}
      h2: {port: core/h2, address: 10.0.0.2/24}
      h3: {port: core/h3, address: 10.0.0.3/24}
    """
  }

  /// A tcpdump writing `eth0` of `namespace` to a file, read back as tcpdump's own text.
  final class Dump {
    let file: String
    private let process = Process()

    init(namespace: String, filter: [String]) throws {
      file =
        FileManager.default.temporaryDirectory
        .appendingPathComponent("patchbay-seg-\(UUID().uuidString).pcap").path
      process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
      process.arguments =
        [
          "netns", "exec", namespace, "tcpdump", "-i", "eth0", "-n", "--immediate-mode", "-U",
          "-w", file,
        ] + filter
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      try process.run()
      for _ in 0..<100 where !FileManager.default.fileExists(atPath: file) { usleep(50_000) }
      usleep(300_000)
    }

    /// Stops tcpdump and returns `tcpdump -r FILE -n -vv -e`: one frame per
    /// line with its length (-e), and the checksums verified (-vv).
    func stop() throws -> String {
      usleep(300_000)
      // SIGKILL, because a child of a dispatch thread may have SIGTERM blocked;
      // --immediate-mode and -U write each frame out as tcpdump gets to it, so
      // wait for the file to stop growing first (tcpdump may lag a busy switch).
      var size = -1
      for _ in 0..<50 {
        let now = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        if now == size { break }
        size = now
        usleep(300_000)
      }
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
      }
      defer { try? FileManager.default.removeItem(atPath: file) }
      let text = try Harness.run(
        "/usr/bin/tcpdump", ["-r", file, "-n", "-vv", "-e"], timeout: 120)
      return text.output
    }

    deinit {
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
      }
      try? FileManager.default.removeItem(atPath: file)
    }
  }

  /// Checks a `tcpdump -vv -e` text of a transfer: thousands of frames (a capture on a busy
  /// 2-core machine may lose some), none longer than MTU + 14, no bad checksum.
  static func expectWireSizedWithGoodChecksums(
    _ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    let lengths = frameLengths(text)
    #expect(
      lengths.count > 1000, "\(lengths.count) frames in the capture",
      sourceLocation: sourceLocation)
    #expect(
      lengths.allSatisfy { $0 <= 1500 + 14 }, "longest \(lengths.max() ?? 0)",
      sourceLocation: sourceLocation)
    let bad = badChecksumLines(text)
    #expect(
      bad.isEmpty, "\(bad.count) bad checksums, first: \(bad.first ?? "")",
      sourceLocation: sourceLocation)
  }

  /// The frame lengths tcpdump -e printed ("ethertype IPv4 (0x0800), length 1514:").
  static func frameLengths(_ text: String) -> [Int] {
    text.split(separator: "\n").compactMap { line in
      guard let range = line.range(of: "), length ") else { return nil }
      let digits = line[range.upperBound...].prefix { $0.isNumber }
      return Int(digits)
    }
  }

  /// Lines in which tcpdump reports a bad checksum (TCP "incorrect", UDP "bad udp
  /// cksum", IPv4 "bad cksum").
  static func badChecksumLines(_ text: String) -> [Substring] {
    text.split(separator: "\n").filter {
      $0.contains("incorrect") || $0.contains("bad cksum") || $0.contains("bad udp cksum")
    }
  }

  @Test func hashedTransfersBothWaysWithAPortWithoutOffloads() throws {
    let lab = "e2seg"
    try Harness.withLab(Self.lab(lab), named: lab) { _ in
      let before = try OffloadTests.checksumErrors(lab, "h2")
      try OffloadTests.expectIntactTransfer(
        lab, from: "h1", to: "h2", address: "10.0.0.2", mebibytes: 100)
      // The switch counts each segment it wrote as a frame sent: h2's port sent
      // at least one frame per 1448 bytes, far more than h1's superframes.
      let status = try Harness.status(lab)
      let h1 = try #require(Harness.port("core/h1", in: status))
      let h2 = try #require(Harness.port("core/h2", in: status))
      // status says which port takes no offloads, in JSON and in its table.
      #expect(h1["offloads"] as? Bool == true && h2["offloads"] as? Bool == false)
      let table = try Harness.patchbay("status", lab).output
      #expect(
        table.contains("core/h2  tap, offload off") && !table.contains("core/h1  tap, offload"))
      let superframes = h1["rxPackets"] as? Int ?? 0
      let segments = h2["txPackets"] as? Int ?? 0
      #expect(segments >= (100 << 20) / 1448, "\(segments) frames sent for 100 MiB")
      #expect(segments > 2 * superframes, "h1 sent \(superframes), h2's port sent \(segments)")
      #expect((h2["txBytes"] as? Int ?? 0) > 100 << 20)
      #expect((h2["txDrops"] as? [String: Int] ?? [:]).isEmpty, "\(h2)")

      // And the other way: h2's kernel segments (its TAP takes no offloads), h1 takes them.
      try OffloadTests.expectIntactTransfer(
        lab, from: "h2", to: "h1", address: "10.0.0.1", mebibytes: 100)
      #expect(try OffloadTests.checksumErrors(lab, "h2") == before)
      let again = try #require(Harness.port("core/h2", in: try Harness.status(lab)))
      #expect((again["txDrops"] as? [String: Int] ?? [:]).isEmpty, "\(again)")
      #expect((again["drops"] as? [String: Int] ?? [:]).isEmpty, "\(again)")
    }
  }

  @Test func tcpdumpSeesWireSizedFramesWithGoodChecksumsOnlyWithoutOffloads() throws {
    let lab = "e2segd"
    try Harness.withLab(Self.lab(lab), named: lab) { _ in
      // Toward h2 (offload: false): every frame within MTU + 14, every checksum right.
      let plain = try Dump(namespace: "\(lab)-h2", filter: ["tcp", "port", "5001"])
      try OffloadTests.expectIntactTransfer(
        lab, from: "h1", to: "h2", address: "10.0.0.2", mebibytes: 20)
      let text = try plain.stop()
      Self.expectWireSizedWithGoodChecksums(text)
      // tcpdump did verify them: -vv says "cksum 0x... (correct)" for a whole frame.
      #expect(text.contains("(correct)"))

      // Toward h3 (default): the same transfer arrives as superframes.
      let offloaded = try Dump(namespace: "\(lab)-h3", filter: ["tcp", "port", "5001"])
      try OffloadTests.expectIntactTransfer(
        lab, from: "h1", to: "h3", address: "10.0.0.3", mebibytes: 20)
      let text3 = try offloaded.stop()
      let lengths3 = Self.frameLengths(text3)
      #expect(lengths3.contains { $0 > 1500 + 14 }, "no superframe reached h3")
    }
  }

  @Test func segmentsCrossAVLANPushTowardATrunkWithoutOffloads() throws {
    // core tags h1's frames toward `tr`, a trunk without offloads attached to
    // one end of a veth pair; `edge` attaches to the other end and pops the tag
    // toward h2. (Kernel VLAN interfaces would do as the far end, but not every
    // kernel has 802.1Q.) The pair is made once the lab is up: attach ports
    // come up when their interface appears.
    let lab = "e2segv"
    let yaml = """
      name: \(lab)
      switches:
        core:
          ports:
            h1: {vlan: 10}
            tr: {attach: \(lab)-a, trunk: [10], offload: false}
        edge:
          ports:
            up: {attach: \(lab)-b, trunk: [10]}
            h2: {vlan: 10}
      hosts:
        h1: {port: core/h1, address: 10.0.0.1/24}
        h2: {port: edge/h2, address: 10.0.0.2/24}
      """
    try Harness.withLab(yaml, named: lab) { _ in
      let pair = try Harness.ip(
        "link", "add", "\(lab)-a", "type", "veth", "peer", "name", "\(lab)-b")
      try #require(pair.status == 0, "\(pair.errors)")
      defer { _ = try? Harness.ip("link", "del", "\(lab)-a") }
      for _ in 0..<50 {
        let status = try Harness.status(lab)
        let states = ["core/tr", "edge/up"].map {
          Harness.port($0, in: status)?["state"] as? String
        }
        if states == ["up", "up"] { break }
        usleep(100_000)
      }
      let before = try OffloadTests.checksumErrors(lab, "h2")
      try OffloadTests.expectIntactTransfer(
        lab, from: "h1", to: "h2", address: "10.0.0.2", mebibytes: 100)
      try OffloadTests.expectIntactTransfer(
        lab, from: "h2", to: "h1", address: "10.0.0.1", mebibytes: 20)
      #expect(try OffloadTests.checksumErrors(lab, "h2") == before)
      let status = try Harness.status(lab)
      let h1 = try #require(Harness.port("core/h1", in: status))
      let trunk = try #require(Harness.port("core/tr", in: status))
      let up = try #require(Harness.port("edge/up", in: status))
      // The trunk sent tagged segments: each 4 bytes longer than h1's view of it
      // and far more of them than h1's superframes; the far side read them all.
      let segments = trunk["txPackets"] as? Int ?? 0
      #expect(segments >= (100 << 20) / 1448, "\(segments) frames sent for 100 MiB")
      #expect(segments > 2 * (h1["rxPackets"] as? Int ?? 0))
      #expect((up["rxBytes"] as? Int ?? 0) > 100 << 20)
      // On average (and so not all longer): within MTU + Ethernet header + tag.
      #expect((trunk["txBytes"] as? Int ?? .max) <= segments * (1500 + 14 + 4))
      // Nothing refused on the way out (the root namespace's own IPv6 chatter on
      // the veth may arrive untagged at the trunk and be dropped on the way in).
      #expect((trunk["txDrops"] as? [String: Int] ?? [:]).isEmpty, "\(trunk)")
    }
  }

  @Test func aRateLimitedPortWithoutOffloadsSendsSegmentsWhenItsQueueReleasesThem() throws {
    // Frames toward h2 wait in its egress queue, framed for it, and leave when
    // the limit allows: that path segments too, and the transfer stays whole.
    let lab = "e2segr"
    let yaml = """
      name: \(lab)
      switches:
        core:
          ports:
            h1: {}
            h2: {offload: false, rate: {egress: 200mbit}}
      hosts:
        h1: {port: core/h1, address: 10.0.0.1/24}
        h2: {port: core/h2, address: 10.0.0.2/24}
      """
    try Harness.withLab(yaml, named: lab) { _ in
      let dump = try Dump(namespace: "\(lab)-h2", filter: ["tcp", "port", "5001"])
      try OffloadTests.expectIntactTransfer(
        lab, from: "h1", to: "h2", address: "10.0.0.2", mebibytes: 20)
      let text = try dump.stop()
      Self.expectWireSizedWithGoodChecksums(text)
      let port = try #require(Harness.port("core/h2", in: try Harness.status(lab)))
      // Every segment of 20 MiB left through the queue: at least one frame per 1448 bytes.
      #expect((port["txPackets"] as? Int ?? 0) >= (20 << 20) / 1448)
    }
  }

  @Test func aMirrorsMonitorPortWithoutOffloadsSeesWireSizedFramesWithGoodChecksums() throws {
    // What an IDS on a SPAN port expects: h2's traffic (superframes and
    // partial checksums between hosts with offloads) copied out as wire frames.
    let lab = "e2segm"
    let yaml = """
      name: \(lab)
      switches:
        core:
          ports:
            h1: {}
            h2: {}
            mon: {offload: false}
      hosts:
        h1: {port: core/h1, address: 10.0.0.1/24}
        h2: {port: core/h2, address: 10.0.0.2/24}
        mon: {port: core/mon}
      mirrors:
        span: {from: [core/h2], to: core/mon}
      """
    try Harness.withLab(yaml, named: lab) { _ in
      let dump = try Dump(namespace: "\(lab)-mon", filter: ["tcp", "port", "5001"])
      try OffloadTests.expectIntactTransfer(
        lab, from: "h1", to: "h2", address: "10.0.0.2", mebibytes: 20)
      let text = try dump.stop()
      Self.expectWireSizedWithGoodChecksums(text)
      // Both directions were copied: data toward h2 and h2's acknowledgements.
      #expect(text.contains("10.0.0.1.") && text.contains("10.0.0.2.5001 >"))
      let monitor = try #require(Harness.port("core/mon", in: try Harness.status(lab)))
      #expect((monitor["txPackets"] as? Int ?? 0) >= (20 << 20) / 1448)
      #expect((monitor["txDrops"] as? [String: Int] ?? [:]).isEmpty, "\(monitor)")
    }
  }

  /// Sends argv[2] buffers of argv[3] datagrams of argv[4] bytes to argv[1]:5003
  /// with UDP_SEGMENT (one superframe per send); each datagram carries its own
  /// sha256 in its first 32 bytes, the last of each buffer is half as long.
  static let udpSegmentSource = """
    import hashlib, os, socket, sys, time
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    size = int(sys.argv[4])
    s.setsockopt(socket.SOL_UDP, 103, size)  # UDP_SEGMENT
    for i in range(int(sys.argv[2])):
        buf = b""
        for k in range(int(sys.argv[3])):
            body = os.urandom((size if k + 1 < int(sys.argv[3]) else size // 2) - 32)
            buf += hashlib.sha256(body).digest() + body
        s.sendto(buf, (sys.argv[1], 5003))
        time.sleep(0.005)
    """

  /// Receives datagrams on port 5003 until argv[1] arrived or 3 quiet seconds;
  /// prints "good bad longest".
  static let udpSegmentSink = """
    import hashlib, socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5003))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20); s.settimeout(3)
    good = bad = longest = 0
    try:
        while good + bad < int(sys.argv[1]):
            d = s.recv(65535); longest = max(longest, len(d))
            if hashlib.sha256(d[32:]).digest() == d[:32]: good += 1
            else: bad += 1
    except socket.timeout:
        pass
    print(good, bad, longest)
    """

  @Test func udpSegmentationOffloadArrivesAsWholeDatagramsWithinTheMTU() throws {
    let lab = "e2segu"
    try Harness.withLab(Self.lab(lab), named: lab) { _ in
      let before = try OffloadTests.checksumErrors(lab, "h2")
      let sink = Process()
      sink.executableURL = URL(fileURLWithPath: Harness.binary)
      sink.arguments = ["exec", lab, "h2", "--", "python3", "-c", Self.udpSegmentSink, "4000"]
      let output = Pipe()
      sink.standardOutput = output
      try sink.run()
      usleep(500_000)
      let dump = try Dump(namespace: "\(lab)-h2", filter: ["udp", "port", "5003"])
      // 200 superframes of 20 datagrams of 1400 bytes: 4000 datagrams.
      let sent = try Harness.exec(
        lab, "h1", "python3", "-c", Self.udpSegmentSource, "10.0.0.2", "200", "20", "1400",
        timeout: 60)
      #expect(sent.status == 0, "\(sent.errors)")
      sink.waitUntilExit()
      let text = try dump.stop()
      let counts = String(
        decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self
      )
      .split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
      #expect(counts.count == 3)
      // UDP may lose a datagram to a starved receiver (2 cores), never damage one.
      #expect(counts.first ?? 0 >= 3600, "good, bad, longest: \(counts)")
      #expect(counts.dropFirst().first == 0, "damaged datagrams: \(counts)")
      #expect(counts.last == 1400, "longest datagram: \(counts)")
      let lengths = Self.frameLengths(text)
      #expect(!lengths.isEmpty && lengths.allSatisfy { $0 <= 1500 + 14 }, "\(lengths.max() ?? 0)")
      let bad = Self.badChecksumLines(text)
      #expect(bad.isEmpty, "\(bad.count) bad checksums, first: \(bad.first ?? "")")
      #expect(try OffloadTests.checksumErrors(lab, "h2") == before)
      // h1's TAP took USO superframes; h2's port sent each datagram as a frame.
      let status = try Harness.status(lab)
      let h1 = try #require(Harness.port("core/h1", in: status))
      let h2 = try #require(Harness.port("core/h2", in: status))
      let superframes = h1["rxPackets"] as? Int ?? 0
      let datagrams = h2["txPackets"] as? Int ?? 0
      #expect(datagrams >= 4000, "\(datagrams) frames sent")
      #expect(datagrams > 2 * superframes, "h1 sent \(superframes), h2's port sent \(datagrams)")
    }
  }
}
