import Foundation
import Testing

/// A MAC flood (what macof does: frame after frame, each from a new source
/// address) end to end: one host sends a million frames from a million MACs.
/// Without a limit on its port the table stays within `mac-table-size` by
/// evicting the least recently seen entries, and two other hosts keep talking;
/// with `max-macs` on the port the flood never reaches the table.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct MACFloodTests {
  /// The flooder `f` (its port's settings `flooderPort`) and victims `v1`, `v2`.
  static func topology(_ lab: String, flooderPort: String = "{}") -> String {
    """
    name: \(lab)
    switches:
      core:
        ports:
          f: \(flooderPort)
          v1: {}
          v2: {}
    hosts:
      f: {port: core/f, address: 10.0.4.1/24}
      v1: {port: core/v1, address: 10.0.4.2/24}
      v2: {port: core/v2, address: 10.0.4.3/24}
    """
  }

  static let frames = 1_000_000

  /// The one switch of a decoded status.
  static func core(_ status: [String: Any]) throws -> [String: Any] {
    try #require((status["switches"] as? [[String: Any]])?.first)
  }

  /// Runs the flood from `f` (unknown unicast destination, like macof's random
  /// ones) while v1 pings v2 every 0.2 s and a thread samples the MAC count;
  /// returns inject.py's report, the ping's summary, the largest count seen.
  static func flood(_ lab: String) throws -> (
    report: [String: Any], ping: String, maximumMACs: Int, samples: Int
  ) {
    nonisolated(unsafe) var maximum = 0
    nonisolated(unsafe) var samples = 0
    let sampler = Thread {
      while !Thread.current.isCancelled {
        if let status = try? Harness.status(lab),
          let count = (status["switches"] as? [[String: Any]])?.first?["macCount"] as? Int
        {
          maximum = max(maximum, count)
          samples += 1
        }
        usleep(200_000)
      }
    }
    // Foundation starts children with SIGINT blocked: unblocked, so that
    // SIGINT makes ping stop and print its summary.
    let ping = try Background(
      "/usr/sbin/ip", ["netns", "exec", "\(lab)-v1", "ping", "-i", "0.2", "-W", "1", "10.0.4.3"],
      unblockingSignals: true)
    sampler.start()
    usleep(500_000)
    let report = try Inject.run(
      lab, "f", "macs", "\(frames)", "--dst", "02:dd:00:00:00:01", timeout: 180)
    usleep(500_000)
    let pinged = ping.finish(signal: SIGINT, timeout: 5)
    sampler.cancel()
    while !sampler.isFinished { usleep(20_000) }
    return (report, String(decoding: pinged.output, as: UTF8.self), maximum, samples)
  }

  /// Transmitted and received of a ping summary ("10 packets transmitted, 9 received").
  static func pingCounts(_ summary: String) -> (sent: Int, received: Int) {
    let words = summary.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," })
    func number(before word: String) -> Int {
      guard let index = words.firstIndex(where: { $0 == word }), index > 0 else { return 0 }
      return Int(words[index - 1]) ?? 0
    }
    return (number(before: "packets"), number(before: "received"))
  }

  /// Without a limit: the table never holds more than `mac-table-size`
  /// entries (sampled every 0.2 s during the flood), nearly every flooded MAC
  /// was evicted again, and v1 and v2 keep talking with at most 5% ping loss.
  /// Their unicast is flooded whenever the flood has evicted their entries
  /// (every 8192 new sources, a fraction of a second): expected, and the
  /// reason a port needs `max-macs`.
  @Test func aMillionSourcesStayWithinTheTableAndTheNeighboursKeepTalking() throws {
    let lab = "e2macs"
    try Harness.withLab(Self.topology(lab), named: lab, exclusive: true) { _ in
      #expect(try Harness.exec(lab, "v1", "ping", "-c", "1", "-W", "2", "10.0.4.3").status == 0)
      let before = try Harness.status(lab)
      let size = try #require(try Self.core(before)["macTableSize"] as? Int)
      let flooded = { (status: [String: Any]) in
        ["core/v1", "core/v2"].map { Harness.port($0, in: status)?["flooded"] as? Int ?? 0 }
      }
      let floodedBefore = flooded(before)

      let (report, ping, maximum, samples) = try Self.flood(lab)
      let after = try Harness.status(lab)
      let core = try Self.core(after)
      let events = core["macEvents"] as? [String: Int] ?? [:]
      let flooder = try #require(Harness.port("core/f", in: after))
      let (sent, received) = Self.pingCounts(ping)
      let seconds = report["seconds"] as? Double ?? 0
      print(
        "MAC flood: \(report) (\(Int(Double(Self.frames) / max(seconds, 0.001))) frames/s); "
          + "largest MAC count \(maximum) of \(size) in \(samples) samples; events \(events); "
          + "core/f rx \(flooder["rxPackets"] ?? 0); ping \(received)/\(sent); flooded from "
          + "v1 and v2 (their entries evicted): \(zip(flooded(after), floodedBefore).map { $0 - $1 })"
      )
      #expect(samples >= 3, "status must answer during the flood")
      #expect(maximum <= size, "\(maximum) MACs in a table of \(size)")
      #expect(core["macCount"] as? Int ?? .max <= size)
      #expect((flooder["rxPackets"] as? Int ?? 0) >= Self.frames, "\(flooder)")
      // Each flooded source is new; once the table is full, each evicts one.
      #expect((events["evicted"] ?? 0) >= Self.frames - size, "\(events)")
      #expect(sent >= 5, "the ping must have run through the flood: \(ping)")
      #expect(Double(received) >= 0.95 * Double(sent), "ping loss during the flood: \(ping)")
      let last = try Harness.exec(lab, "v1", "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.0.4.3")
      #expect(last.status == 0, "\(last.output)")
      Harness.expectCountersAddUp(try Harness.status(lab))
    }
  }

  /// With `max-macs: 16` on the flooder's port: its own MAC and the first 15
  /// flooded sources are learned, every other flooded frame is a `max-macs`
  /// drop (exactly: what reached the switch less 15), nothing is evicted,
  /// and the victims' entries stay in the table on their own ports.
  @Test func aMillionSourcesFromALimitedPortLeaveTheTableAlone() throws {
    let lab = "e2macl"
    try Harness.withLab(
      Self.topology(lab, flooderPort: "{max-macs: 16}"), named: lab, exclusive: true
    ) { _ in
      // f's own MAC first, and the victims', so that the table has them.
      #expect(try Harness.exec(lab, "f", "ping", "-c", "1", "-W", "2", "10.0.4.2").status == 0)
      #expect(try Harness.exec(lab, "v1", "ping", "-c", "1", "-W", "2", "10.0.4.3").status == 0)
      let before = try Harness.status(lab)
      let victims = try ["v1", "v2"].map { try Harness.mac(of: $0, in: before) }

      let (report, ping, maximum, _) = try Self.flood(lab)
      let after = try Harness.status(lab)
      let events = try Self.core(after)["macEvents"] as? [String: Int] ?? [:]
      let drops = Harness.drops("core/f", in: after)
      let delivered = (report["sent"] as? Int ?? 0) - (report["tap_dropped"] as? Int ?? 0)
      let (sent, received) = Self.pingCounts(ping)
      print(
        "MAC flood from a max-macs port: \(report); largest MAC count \(maximum); "
          + "events \(events); core/f drops \(drops); ping \(received)/\(sent)")
      #expect(delivered == Self.frames, "\(report)")
      #expect(drops == ["max-macs": delivered - 15], "delivered \(delivered): \(drops)")
      #expect(events["evicted"] == 0, "\(events)")
      #expect(maximum <= 16 + 2, "f's 16 and the 2 victims: \(maximum)")
      let table = try Harness.fdb(lab)
      #expect(table.filter { $0["port"] as? String == "f" }.count == 16)
      for (name, mac) in zip(["v1", "v2"], victims) {
        let rows = table.filter { $0["mac"] as? String == mac }
        #expect(rows.first?["port"] as? String == name, "\(name) (\(mac)): \(rows)")
      }
      #expect(Double(received) >= 0.95 * Double(sent), "ping loss during the flood: \(ping)")
      Harness.expectCountersAddUp(after)
    }
  }
}
