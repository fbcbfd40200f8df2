import Foundation
import Testing

/// `busy-poll`: a lab that polls after traffic switches as one that sleeps, and
/// stops polling once traffic stops (an idle lab costs no CPU).
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct BusyPollTests {
  /// CPU time (user + system) the process `pid` has used, in seconds.
  static func cpuSeconds(of pid: Int32) throws -> Double {
    let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    // The fields after the command name's closing parenthesis; utime and stime
    // are fields 14 and 15 of the whole line, 12 and 13 after it.
    let rest = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...]
    let fields = rest.split(separator: " ")
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    return (Double(fields[11]) ?? 0) / ticks + (Double(fields[12]) ?? 0) / ticks
  }

  /// Frames received on every port of a decoded status, in total.
  static func framesReceived(in status: [String: Any]) -> Int {
    let switches = status["switches"] as? [[String: Any]] ?? []
    return switches.flatMap { $0["ports"] as? [[String: Any]] ?? [] }
      .reduce(0) { $0 + ($1["rxPackets"] as? Int ?? 0) }
  }

  @Test func aPollingLabSwitchesAndGoesQuietWhenTrafficStops() throws {
    let lab = "e2poll"
    let yaml = Harness.threeHosts(lab).replacingOccurrences(
      of: "name: \(lab)\n", with: "name: \(lab)\nbusy-poll: 50ms\n")
    try Harness.withLab(yaml, named: lab) { _ in
      let summary = try Harness.patchbay("validate", try Harness.topologyFile(yaml, name: lab))
      #expect(summary.output.contains("busy-poll 50ms"))
      // Pings 20 ms apart keep the datapath polling; every one is answered.
      let ping = try Harness.exec(
        lab, "h1", "ping", "-c", "50", "-i", "0.02", "-q", "10.0.0.2", timeout: 30)
      #expect(ping.output.contains(" 0% packet loss"), "\(ping.output)")
      let text = try String(contentsOfFile: "/run/patchbay/\(lab)/pid", encoding: .utf8)
      let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
      // A second after the last frame the window has long closed: over the
      // next two seconds the daemon sleeps. (A datapath that kept polling
      // would use about two seconds of CPU here, per thread.) The hosts' own
      // frames (IPv6 router solicitations, MLD reports) still arrive now and
      // then, and each opens one 50 ms window on the thread that took it: so
      // the allowance is 0.2 s plus 50 ms for every frame the switch received
      // from the status before to the status after. (The status query wakes
      // every thread too; the second before the measurement lets that pass.)
      let framesBefore = try Self.framesReceived(in: Harness.status(lab))
      sleep(1)
      let before = try Self.cpuSeconds(of: pid)
      sleep(2)
      let used = try Self.cpuSeconds(of: pid) - before
      let frames = try Self.framesReceived(in: Harness.status(lab)) - framesBefore
      let allowance = 0.2 + 0.05 * Double(frames)
      #expect(frames < 20, "the hosts sent \(frames) frames while the lab was meant to be quiet")
      #expect(
        used < allowance,
        "the idle daemon used \(used) s of CPU in 2 s (allowed \(allowance) s for \(frames) frames)"
      )
    }
  }
}
