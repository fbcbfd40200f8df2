import Foundation
import Testing

/// Checksum offload and GSO superframes end to end: large transfers whose bytes
/// are hashed at both ends, through plain forwarding and through a VLAN push and
/// pop (which moves the offsets in the virtio-net header).
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct OffloadTests {
  /// Receives one TCP connection on port 5001 and prints "bytes sha256".
  static let tcpSink = """
    import hashlib, socket
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 5001)); s.listen(1); s.settimeout(60)
    c, _ = s.accept(); c.settimeout(60); h = hashlib.sha256(); n = 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        h.update(b); n += len(b)
    print(n, h.hexdigest())
    """

  /// Sends argv[2] MiB of pseudo-random bytes to argv[1]:5001; prints "bytes sha256".
  static let tcpSource = """
    import hashlib, random, socket, sys
    rng = random.Random(42); h = hashlib.sha256(); n = 0
    c = socket.create_connection((sys.argv[1], 5001), timeout=60)
    for i in range(int(sys.argv[2])):
        chunk = rng.randbytes(1 << 20)
        c.sendall(chunk); h.update(chunk); n += len(chunk)
    c.close(); print(n, h.hexdigest())
    """

  /// Receives argv[1] UDP datagrams on port 5002 (or stops after 3 quiet seconds);
  /// each carries its own sha256 in its first 32 bytes. Prints "good bad".
  static let udpSink = """
    import hashlib, socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5002))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20); s.settimeout(3)
    good = bad = 0
    try:
        while good + bad < int(sys.argv[1]):
            d = s.recv(65535)
            if hashlib.sha256(d[32:]).digest() == d[:32]: good += 1
            else: bad += 1
    except socket.timeout:
        pass
    print(good, bad)
    """

  /// Sends argv[2] datagrams of argv[3] bytes to argv[1]:5002, paced.
  static let udpSource = """
    import hashlib, os, socket, sys, time
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(int(sys.argv[2])):
        body = os.urandom(int(sys.argv[3]) - 32)
        s.sendto(hashlib.sha256(body).digest() + body, (sys.argv[1], 5002))
        if i % 10 == 9: time.sleep(0.01)
    """

  /// The receiving namespace's checksum-error counters (TCP and UDP InCsumErrors).
  static func checksumErrors(_ lab: String, _ host: String) throws -> [String: Int] {
    let snmp = try Harness.exec(lab, host, "cat", "/proc/net/snmp").output
    var errors: [String: Int] = [:]
    let lines = snmp.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    for (names, values) in zip(lines, lines.dropFirst()) where names.first == values.first {
      let proto = names[0]
      guard proto == "Tcp:" || proto == "Udp:", let index = names.firstIndex(of: "InCsumErrors")
      else { continue }
      errors[proto] = Int(values[index])
    }
    return errors
  }

  /// Runs a hashed TCP transfer of `mebibytes` from `from` to `to` (at `address`) and expects
  /// it to arrive whole: the sender sent all of it, and the receiver's count and hash equal the
  /// sender's.
  static func expectIntactTransfer(
    _ lab: String, from: String, to: String, address: String, mebibytes: Int,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) throws {
    let (sent, received) = try transfer(
      lab, from: from, to: to, address: address, mebibytes: mebibytes)
    #expect(sent.hasPrefix("\(mebibytes << 20) "), "\(sent)", sourceLocation: sourceLocation)
    #expect(sent == received, "sent \(sent), received \(received)", sourceLocation: sourceLocation)
  }

  /// Runs a hashed TCP transfer of `mebibytes` from `from` to `to` (at `address`).
  static func transfer(
    _ lab: String, from: String, to: String, address: String, mebibytes: Int
  ) throws -> (sent: String, received: String) {
    let sink = Process()
    sink.executableURL = URL(fileURLWithPath: Harness.binary)
    sink.arguments = ["exec", lab, to, "--", "python3", "-c", tcpSink]
    let sinkOutput = Pipe()
    sink.standardOutput = sinkOutput
    sink.standardError = FileHandle.nullDevice
    try sink.run()
    usleep(500_000)
    let source = try Harness.exec(
      lab, from, "python3", "-c", tcpSource, address, String(mebibytes), timeout: 120)
    sink.waitUntilExit()
    let received = String(
      decoding: sinkOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (
      source.output.trimmingCharacters(in: .whitespacesAndNewlines),
      received.trimmingCharacters(in: .whitespacesAndNewlines)
    )
  }

  @Test func a100MBTCPTransferBetweenTAPsArrivesIntactInSuperframes() throws {
    let lab = "e2off"
    try Harness.withLab(Harness.threeHosts(lab), named: lab) { _ in
      let before = try Self.checksumErrors(lab, "h2")
      // Frame sizes at the receiver: with offloads the switch carries superframes.
      let capture = try Capture(
        namespace: "\(lab)-h2", filter: ["tcp", "port", "5001"], snaplen: 96)
      try OffloadTests.expectIntactTransfer(
        lab, from: "h1", to: "h2", address: "10.0.0.2", mebibytes: 100)
      let frames = try capture.stop()
      let after = try Self.checksumErrors(lab, "h2")
      #expect(after == before, "checksum errors at the receiver: \(before) -> \(after)")
      #expect(!frames.isEmpty)
      let status = try Harness.status(lab)
      let h1 = try #require(Harness.port("core/h1", in: status))
      // Fewer frames than 1500-byte segments would need: GSO superframes crossed the switch.
      let rxPackets = h1["rxPackets"] as? Int ?? 0
      let rxBytes = h1["rxBytes"] as? Int ?? 0
      #expect(rxBytes > 100 << 20)
      #expect(
        rxPackets < (100 << 20) / 1448 / 2, "\(rxPackets) frames for 100 MiB: no superframes?")
      #expect((h1["drops"] as? [String: Int] ?? [:]).isEmpty, "\(h1)")
    }
  }

  @Test func aTransferAcrossAVLANPushAndPopArrivesIntact() throws {
    let lab = "e2offv"
    let yaml = """
      name: \(lab)
      switches:
        a:
          ports:
            h1: {vlan: 10}
            isl: {peer: b/isl, trunk: [10]}
        b:
          ports:
            h2: {vlan: 10}
            isl: {peer: a/isl, trunk: [10]}
      hosts:
        h1: {port: a/h1, address: 10.0.0.1/24}
        h2: {port: b/h2, address: 10.0.0.2/24}
      """
    try Harness.withLab(yaml, named: lab) { _ in
      let before = try Self.checksumErrors(lab, "h2")
      try OffloadTests.expectIntactTransfer(
        lab, from: "h1", to: "h2", address: "10.0.0.2", mebibytes: 100)
      // And back the other way, so both directions push and pop.
      try OffloadTests.expectIntactTransfer(
        lab, from: "h2", to: "h1", address: "10.0.0.1", mebibytes: 20)
      #expect(try Self.checksumErrors(lab, "h2") == before)
      let status = try Harness.status(lab)
      // The trunk carried tagged superframes: 4 bytes more per frame than the access side.
      let isl = try #require(Harness.port("a/isl", in: status))
      let h1 = try #require(Harness.port("a/h1", in: status))
      #expect((isl["txBytes"] as? Int ?? 0) > (h1["rxBytes"] as? Int ?? 0))
    }
  }

  @Test func largeUDPDatagramsArriveWhole() throws {
    let lab = "e2offu"
    try Harness.withLab(Harness.threeHosts(lab), named: lab) { _ in
      let before = try Self.checksumErrors(lab, "h2")
      let sink = Process()
      sink.executableURL = URL(fileURLWithPath: Harness.binary)
      sink.arguments = ["exec", lab, "h2", "--", "python3", "-c", Self.udpSink, "400"]
      let output = Pipe()
      sink.standardOutput = output
      try sink.run()
      usleep(500_000)
      // 400 datagrams of 60000 bytes: each crosses as 41 IP fragments.
      let sent = try Harness.exec(
        lab, "h1", "python3", "-c", Self.udpSource, "10.0.0.2", "400", "60000")
      #expect(sent.status == 0, "\(sent.errors)")
      sink.waitUntilExit()
      let counts = String(
        decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self
      )
      .split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
      #expect(counts.count == 2)
      // UDP may lose a datagram when the receiving process is starved of CPU
      // (2 cores, shared with the sender and the switch), but never damage one.
      #expect(counts.first ?? 0 >= 360, "good, bad: \(counts)")
      #expect(counts.last == 0, "damaged datagrams: \(counts)")
      #expect(try Self.checksumErrors(lab, "h2") == before)
    }
  }
}
