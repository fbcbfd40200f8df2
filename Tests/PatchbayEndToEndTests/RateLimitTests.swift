import Foundation
import Testing

/// Rate limits end to end: iperf3 between namespace hosts through ingress and
/// egress limits, measured at the receiver (iperf3's server side), as the
/// issue states them: within ±5% of the limit.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct RateLimitTests {
  static let lab = "e2rate"

  /// Four hosts on one switch, 10.0.5.1–4, no limits to start with.
  static let topology = """
    name: \(lab)
    switches:
      core:
        ports:
          h1: {}
          h2: {}
          h3: {}
          h4: {}
    hosts:
      h1: {port: core/h1, address: 10.0.5.1/24}
      h2: {port: core/h2, address: 10.0.5.2/24}
      h3: {port: core/h3, address: 10.0.5.3/24}
      h4: {port: core/h4, address: 10.0.5.4/24}
    """

  /// The same lab with 9000-byte MTU ports, for UDP at 1 Gbit/s: 1.3 Gbit/s of
  /// 1448-byte datagrams is 110k frames a second, which iperf3's sender, the
  /// one-thread switch and the receiver cannot all keep up with on two cores
  /// (unlimited, 0.88–1.05 Gbit/s arrived, lost at the sending TAP's queue), so
  /// at 1500 bytes the case measures the machine, not the limit.
  static let jumboTopology = topology.replacingOccurrences(of: ": {}", with: ": {mtu: 9000}")

  static func address(_ host: String) -> String { "10.0.5.\(host.dropFirst())" }

  /// `patchbay set LAB PORT rate SETTINGS...`, which must succeed.
  static func set(_ port: String, _ settings: String...) throws {
    let result = try Harness.run(Harness.binary, ["set", lab, port, "rate"] + settings)
    try #require(result.status == 0, "set failed: \(result.errors)")
  }

  @Test(arguments: [10, 100, 1000])
  func tcpAndUDPThroughIngressAndEgressLimitsLandWithinFivePercent(megabits: Int) throws {
    let jumbo = megabits >= 1000
    try Harness.withLab(
      jumbo ? Self.jumboTopology : Self.topology, named: Self.lab, exclusive: true
    ) { _ in
      let limit = Double(megabits) * 1e6
      let datagram = jumbo ? 8900 : 1448
      // Ingress: what h1 sends into the switch.
      try Self.set("core/h1", "ingress=\(megabits)mbit")
      let ingressTCP = try Iperf.measure(Self.lab, from: "h1", to: "h2", seconds: 4)
      let ingressUDP = try Iperf.measure(
        Self.lab, from: "h1", to: "h2", seconds: 4, udpBitsPerSecond: limit * 1.3,
        datagramBytes: datagram)
      try Self.set("core/h1", "off")
      // Egress: what the switch sends to h2.
      try Self.set("core/h2", "egress=\(megabits)mbit")
      let egressTCP = try Iperf.measure(Self.lab, from: "h1", to: "h2", seconds: 4)
      let egressUDP = try Iperf.measure(
        Self.lab, from: "h1", to: "h2", seconds: 4, udpBitsPerSecond: limit * 1.3,
        datagramBytes: datagram)
      for (name, measured) in [
        ("ingress TCP", ingressTCP), ("ingress UDP", ingressUDP), ("egress TCP", egressTCP),
        ("egress UDP", egressUDP),
      ] {
        // The numbers, for the README and for anyone chasing a flaky run.
        print("rate limit \(megabits) Mbit/s, \(name): \(measured.bitsPerSecond / 1e6) Mbit/s")
        #expect(
          abs(measured.bitsPerSecond - limit) <= 0.05 * limit,
          "\(name) at \(megabits) Mbit/s: received \(measured.bitsPerSecond / 1e6) Mbit/s")
      }
      // UDP beyond the limit was dropped and counted where the limit sits.
      let status = try Harness.status(Self.lab)
      let h1 = try #require(Harness.port("core/h1", in: status))
      let h2 = try #require(Harness.port("core/h2", in: status))
      #expect(((h1["drops"] as? [String: Int])?["rate-limited"] ?? 0) > 0)
      // h2's limit is on frames leaving the switch toward it: transmit drops.
      #expect(((h2["txDrops"] as? [String: Int])?["rate-limited"] ?? 0) > 0)
      #expect(
        h2["rateLimit"] as? String == "egress \(megabits == 1000 ? "1gbit" : "\(megabits)mbit")")
    }
  }

  @Test func setReportsWhatItChangedAndRefusesUnknownPorts() throws {
    try Harness.withLab(Self.topology, named: Self.lab, exclusive: true) { _ in
      let set = try Harness.patchbay(
        "set", Self.lab, "core/h1", "rate", "ingress=50mbit", "burst=64KiB")
      #expect(set.status == 0, "\(set.errors)")
      #expect(set.output == "core/h1: rate ingress 50mbit burst 64KiB\n")
      let more = try Harness.patchbay("set", Self.lab, "core/h1", "rate", "egress-pps=20kpps")
      #expect(more.output == "core/h1: rate ingress 50mbit egress 20kpps burst 64KiB\n")
      let status = try Harness.status(Self.lab)
      #expect(
        Harness.port("core/h1", in: status)?["rateLimit"] as? String
          == "ingress 50mbit egress 20kpps burst 64KiB")
      #expect(Harness.port("core/h2", in: status)?["rateLimit"] as? String == "none")
      let off = try Harness.patchbay("set", Self.lab, "core/h1", "rate", "off")
      #expect(off.output == "core/h1: rate none\n")
      let missing = try Harness.patchbay("set", Self.lab, "core/h9", "rate", "ingress=1mbit")
      #expect(missing.status == 1)
      #expect(
        missing.errors
          == "patchbay: error: lab \(Self.lab) has no port 'core/h9' (ports are named SWITCH/PORT)\n"
      )
      let notRunning = try Harness.patchbay("set", "e2nolab", "core/h1", "rate", "off")
      #expect(notRunning.errors == "patchbay: error: lab e2nolab is not running\n")
    }
  }

  @Test func twoSendersWithDifferentLimitsEachGetTheirOwnRate() throws {
    try Harness.withLab(Self.topology, named: Self.lab, exclusive: true) { _ in
      try Self.set("core/h1", "ingress=30mbit")
      try Self.set("core/h3", "ingress=60mbit")
      // Both at once, to the same destination.
      nonisolated(unsafe) var fromH3: Iperf.Measurement?
      nonisolated(unsafe) var failure: (any Error)?
      let other = Thread {
        do {
          fromH3 = try Iperf.measure(Self.lab, from: "h3", to: "h2", port: 5202, seconds: 4)
        } catch { failure = error }
      }
      other.start()
      let fromH1 = try Iperf.measure(Self.lab, from: "h1", to: "h2", port: 5201, seconds: 4)
      while fromH3 == nil && failure == nil { usleep(50_000) }
      if let failure { throw failure }
      let h3 = try #require(fromH3)
      print("two senders: h1 \(fromH1.bitsPerSecond / 1e6), h3 \(h3.bitsPerSecond / 1e6) Mbit/s")
      #expect(abs(fromH1.bitsPerSecond - 30e6) <= 0.05 * 30e6, "h1: \(fromH1.bitsPerSecond)")
      #expect(abs(h3.bitsPerSecond - 60e6) <= 0.05 * 60e6, "h3: \(h3.bitsPerSecond)")
    }
  }

  @Test func aLimitChangedAtRunTimeTakesEffectWithinASecond() throws {
    try Harness.withLab(Self.topology, named: Self.lab, exclusive: true) { _ in
      try Self.set("core/h1", "ingress=100mbit")
      // Change the limit 2 s into a 5 s stream of 200 Mbit/s UDP.
      let changer = Thread {
        usleep(2_000_000)
        _ = try? Self.set("core/h1", "ingress=20mbit")
      }
      let started = Date()
      changer.start()
      let measured = try Iperf.measure(
        Self.lab, from: "h1", to: "h2", seconds: 5, udpBitsPerSecond: 200e6, interval: 0.5)
      let changedAt = 2.0 + 0.05  // the set command itself takes a few milliseconds
      #expect(Date().timeIntervalSince(started) > changedAt)
      // Intervals (receiver side) that ended before the change ran at the old
      // limit; those that started a second after it, at the new one.
      let before = measured.intervals.filter { $0.end <= 2.0 && $0.start >= 0.5 }
      let after = measured.intervals.filter { $0.start >= changedAt + 1.0 - 0.05 }
      try #require(!before.isEmpty && !after.isEmpty, "intervals: \(measured.intervals)")
      for interval in before {
        #expect(abs(interval.bitsPerSecond - 100e6) <= 0.1 * 100e6, "before: \(interval)")
      }
      for interval in after {
        #expect(abs(interval.bitsPerSecond - 20e6) <= 0.1 * 20e6, "after: \(interval)")
      }
    }
  }

  @Test func unlimitedPortsKeepFullSpeedWhileALimitedOneIsSaturated() throws {
    try Harness.withLab(Self.topology, named: Self.lab, exclusive: true) { _ in
      try Self.set("core/h1", "ingress=10mbit")
      // The pair is CPU-bound on two cores that it shares with the flood's
      // sender and receiver, and a TCP stream here varies by a fifth from run
      // to run: rounds measured beside/alone ratios from 0.72 to 1.0. What this
      // guards against, a limited port stalling the others (head-of-line
      // blocking, a spinning loop), costs far more than that; so up to three
      // rounds of (alone, beside), passing when one keeps 70% or more.
      var rounds: [(alone: Double, beside: Double)] = []
      for _ in 0..<3 where !rounds.contains(where: { $0.beside >= 0.7 * $0.alone }) {
        let alone = try Iperf.measure(Self.lab, from: "h3", to: "h4", port: 5203, seconds: 3)
        // h1 pushes three times its limit at h2 for the whole measurement:
        // saturated, without its sender taking much of the CPU the pair needs.
        nonisolated(unsafe) var saturating: Iperf.Measurement?
        nonisolated(unsafe) var failure: (any Error)?
        let flood = Thread {
          do {
            saturating = try Iperf.measure(
              Self.lab, from: "h1", to: "h2", port: 5201, seconds: 5, udpBitsPerSecond: 30e6)
          } catch { failure = error }
        }
        flood.start()
        usleep(1_000_000)
        let beside = try Iperf.measure(Self.lab, from: "h3", to: "h4", port: 5203, seconds: 3)
        while saturating == nil && failure == nil { usleep(50_000) }
        if let failure { throw failure }
        let limited = try #require(saturating)
        print(
          "unlimited pair: \(alone.bitsPerSecond / 1e9) Gbit/s alone, \(beside.bitsPerSecond / 1e9) beside"
        )
        #expect(
          abs(limited.bitsPerSecond - 10e6) <= 0.05 * 10e6, "limited: \(limited.bitsPerSecond)")
        rounds.append((alone.bitsPerSecond, beside.bitsPerSecond))
      }
      #expect(
        rounds.contains { $0.beside >= 0.7 * $0.alone },
        "unlimited pair beside the limited port, alone → beside (Gbit/s): \(rounds.map { ($0.alone / 1e9, $0.beside / 1e9) })"
      )
    }
  }
}

/// iperf3 runs between two hosts of a lab, measured at the receiver.
enum Iperf {
  /// What the receiving side saw.
  struct Measurement {
    /// Bits per second over the whole run.
    var bitsPerSecond: Double
    /// Per-interval rates, seconds from the start.
    var intervals: [(start: Double, end: Double, bitsPerSecond: Double)]
  }

  /// Runs iperf3 from `from` to `to` (TCP, or UDP at `udpBitsPerSecond` with
  /// `datagramBytes`-byte datagrams) and returns the server's view of it.
  static func measure(
    _ lab: String, from: String, to: String, address: String? = nil, port: Int = 5201,
    seconds: Int, udpBitsPerSecond: Double? = nil, datagramBytes: Int = 1448,
    interval: Double = 1, streams: Int = 1
  ) throws -> Measurement {
    // (Tests that measure run alone: `Harness.withLab(..., exclusive: true)`.)
    try measureAlone(
      lab, from: from, to: to, address: address, port: port, seconds: seconds,
      udpBitsPerSecond: udpBitsPerSecond, datagramBytes: datagramBytes, interval: interval,
      streams: streams)
  }

  private static func measureAlone(
    _ lab: String, from: String, to: String, address: String?, port: Int,
    seconds: Int, udpBitsPerSecond: Double?, datagramBytes: Int, interval: Double, streams: Int
  ) throws -> Measurement {
    // The server in the receiving host: one test, JSON on stdout; killed if it hangs.
    let server = Process()
    server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
    server.arguments = [
      "netns", "exec", "\(lab)-\(to)", "iperf3", "-s", "-1", "-J", "-p", "\(port)", "-i",
      "\(interval)",
    ]
    let output = Pipe()
    server.standardOutput = output
    server.standardError = FileHandle.nullDevice
    try server.run()
    defer {
      if server.isRunning { kill(server.processIdentifier, SIGKILL) }
      server.waitUntilExit()
    }
    nonisolated(unsafe) var data = Data()
    let reader = Thread { data = output.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    var client = [
      "netns", "exec", "\(lab)-\(from)", "iperf3", "-c", address ?? RateLimitTests.address(to),
      "-p",
      "\(port)", "-t", "\(seconds)", "-P", "\(streams)",
    ]
    if let udpBitsPerSecond {
      // -w 4M: the receiving iperf3 gets a socket buffer that rides out its
      // scheduling gaps on two shared cores; with the 208 KiB default it drops
      // a sixth of a 1 Gbit/s stream that the switch delivered in full.
      client += ["-u", "-l", "\(datagramBytes)", "-b", "\(Int(udpBitsPerSecond))", "-w", "4M"]
    }
    // The server needs a moment to listen: retry the connection a few times.
    var result = try Harness.run("/usr/sbin/ip", client, timeout: Double(seconds) + 20)
    for _ in 0..<20 where result.status != 0 && result.errors.contains("connect") {
      usleep(100_000)
      result = try Harness.run("/usr/sbin/ip", client, timeout: Double(seconds) + 20)
    }
    try #require(result.status == 0, "iperf3 client failed: \(result.errors)")
    let deadline = Date().addingTimeInterval(10)
    while server.isRunning && Date() < deadline { usleep(20_000) }
    if server.isRunning { kill(server.processIdentifier, SIGKILL) }
    server.waitUntilExit()
    while reader.isExecuting || !reader.isFinished { usleep(10_000) }
    let json = try #require(
      try JSONSerialization.jsonObject(with: data) as? [String: Any], "no JSON from iperf3 -s")
    let end = try #require(json["end"] as? [String: Any])
    let summary = try #require(
      (end["sum_received"] ?? end["sum"]) as? [String: Any], "no summary in \(end.keys)")
    let intervals = (json["intervals"] as? [[String: Any]] ?? []).compactMap {
      interval -> (Double, Double, Double)? in
      guard let sum = interval["sum"] as? [String: Any], let start = sum["start"] as? Double,
        let stop = sum["end"] as? Double, let bits = sum["bits_per_second"] as? Double
      else { return nil }
      return (start, stop, bits)
    }
    return Measurement(
      bitsPerSecond: try #require(summary["bits_per_second"] as? Double), intervals: intervals)
  }
}
