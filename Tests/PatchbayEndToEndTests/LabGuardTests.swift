import Foundation
import Testing

/// What guards a running lab from the CLI: names checked with the topology's
/// rule, one lock per lab, interfaces a lab did not make left alone, and a
/// `down` that a wedged daemon cannot hang.
@Suite(.enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct LabGuardTests {
  /// The lines of `text`.
  static func lines(_ text: String) -> [Substring] { text.split(separator: "\n") }

  @Test func badLabNamesAreRefusedAndTheRunningLabIsUntouched() throws {
    let lab = "e2ct1"
    try Harness.withLab(Harness.threeHosts(lab), named: lab) { _ in
      let commands: [[String]] = [
        ["down", ""], ["down", "../x"], ["down", "."], ["down", ".."], ["down", "-x"],
        ["down", "UPPER"], ["down", "toolongname1"], ["status", ""], ["status", "."],
        ["fdb", ""], ["nat", ".."], ["set", "", "core/h1", "rate", "off"],
        ["exec", "", "h1", "--", "true"], ["exec", ".", "h1", "--", "true"],
        ["console", "", "vm1"], ["capture", "", "core/h1"],
      ]
      for arguments in commands {
        let result = try Harness.run(Harness.binary, arguments, timeout: 20)
        #expect(result.status != 0, "\(arguments) succeeded")
        #expect(Self.lines(result.errors).count == 1, "\(arguments): \(result.errors)")
        #expect(result.errors.hasPrefix("patchbay: error: "), "\(arguments): \(result.errors)")
        #expect(result.output.isEmpty, "\(arguments): \(result.output)")
      }
      let empty = try Harness.patchbay("down", "")
      #expect(
        empty.errors
          == "patchbay: error: invalid lab name '': use a-z, 0-9 and '-', starting with a letter or digit\n"
      )
      let dot = try Harness.patchbay("down", ".")
      #expect(dot.errors.hasPrefix("patchbay: error: invalid lab name '.'"), "\(dot.errors)")
      // The lab runs on, with all its state, and status still lists it.
      for file in ["pid", "control.sock", "resources.json"] {
        #expect(FileManager.default.fileExists(atPath: "/run/patchbay/\(lab)/\(file)"), "\(file)")
      }
      #expect(try Harness.exec(lab, "h1", "ping", "-c", "1", "-W", "2", "10.0.0.2").status == 0)
      let named = try Harness.patchbay("status", lab)
      #expect(named.status == 0, "\(named.errors)")
      #expect(named.output.hasPrefix("lab \(lab)  pid"), "\(named.output)")
      // Every running lab: another test's lab may stop between listing and
      // asking it, so a few tries.
      var all = try Harness.patchbay("status")
      for _ in 0..<5 where all.status != 0 {
        usleep(200_000)
        all = try Harness.patchbay("status")
      }
      #expect(all.output.contains("lab \(lab)  pid"), "\(all.output) \(all.errors)")
    }
  }

  @Test func twoConcurrentUpsOfOneLabLeaveExactlyOneRunning() throws {
    let lab = "e2ct2"
    try LabGate.shared.sharing {
      Harness.forceClean(lab)
      defer { Harness.forceClean(lab) }
      let file = try Harness.topologyFile(Harness.threeHosts(lab))
      nonisolated(unsafe) var results: [Harness.Result?] = [nil, nil]
      let lock = NSLock()
      DispatchQueue.concurrentPerform(iterations: 2) { index in
        let result = try? Harness.patchbay("up", file, "--detach")
        lock.withLock { results[index] = result }
      }
      let finished = results.compactMap { $0 }
      try #require(finished.count == 2)
      let winners = finished.filter { $0.status == 0 }
      let losers = finished.filter { $0.status != 0 }
      #expect(winners.count == 1, "\(finished.map(\.errors))")
      #expect(losers.count == 1, "\(finished.map(\.errors))")
      if let loser = losers.first {
        #expect(Self.lines(loser.errors).count == 1, "\(loser.errors)")
        #expect(
          loser.errors.hasPrefix("patchbay: error: lab '\(lab)' is already running"),
          "\(loser.errors)")
      }
      // A foreground `up` of the running lab fails at the lock too.
      let foreground = try Harness.patchbay("up", file, timeout: 20)
      #expect(foreground.status == 1)
      #expect(
        foreground.errors.hasPrefix("patchbay: error: lab '\(lab)' is already running"),
        "\(foreground.errors)")
      // The winner keeps working: every host, its state, status, a clean down.
      #expect(Harness.namespaces(of: lab) == ["\(lab)-h1", "\(lab)-h2", "\(lab)-h3"])
      #expect(try Harness.exec(lab, "h1", "ping", "-c", "1", "-W", "2", "10.0.0.3").status == 0)
      #expect(try Harness.status(lab)["name"] as? String == lab)
      let down = try Harness.patchbay("down", lab)
      #expect(down.status == 0, "\(down.errors)")
      #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
      #expect(!FileManager.default.fileExists(atPath: "/run/patchbay/\(lab).lock"))
    }
  }

  @Test func interfacesUpWouldCreateThatExistSurviveTheFailedUp() throws {
    let lab = "e2ct3"
    let folder = try Harness.topologyFile("", name: "unused")
    let kernel = URL(fileURLWithPath: folder).deletingLastPathComponent()
      .appendingPathComponent("vmlinuz").path
    try Data().write(to: URL(fileURLWithPath: kernel))
    let yaml = """
      name: \(lab)
      switches:
        core:
          ports:
            h1: {}
            vm1: {}
            gw: {uplink: wan}
      hosts:
        h1: {port: core/h1, address: 10.0.13.1/24}
        up: {veth: \(lab)-wan, address: 198.18.13.1/24}
      vms:
        vm1: {port: core/vm1, kernel: \(kernel)}
      uplinks:
        wan: {mode: nat, interface: \(lab)-wan, address: 198.18.13.10/24, inside: 10.0.13.254/24}
      """
    // The VM's TAP and the veth host's interface, each made by someone else first.
    for (interface, owner) in [("\(lab)-vm1", "port core/vm1"), ("\(lab)-wan", "host up")] {
      try LabGate.shared.sharing {
        Harness.forceClean(lab)
        defer { Harness.forceClean(lab) }
        try Harness.ip("tuntap", "add", "dev", interface, "mode", "tap")
        defer { _ = try? Harness.ip("link", "del", interface) }
        let up = try Harness.patchbay("up", try Harness.topologyFile(yaml), "--detach")
        #expect(up.status == 1)
        #expect(
          up.errors == "patchbay: error: \(owner): interface '\(interface)' already exists\n",
          "\(up.errors)")
        #expect(Harness.interfaces(of: lab) == [interface])
        #expect(Harness.namespaces(of: lab).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/run/patchbay/\(lab)"))
      }
    }
  }

  @Test func downOfAStoppedDaemonFinishesWithinItsTimeout() throws {
    let lab = "e2ct4"
    try LabGate.shared.sharing {
      Harness.forceClean(lab)
      defer { Harness.forceClean(lab) }
      let up = try Harness.patchbay(
        "up", try Harness.topologyFile(Harness.threeHosts(lab)), "--detach")
      try #require(up.status == 0, "\(up.errors)")
      let text = try String(contentsOfFile: "/run/patchbay/\(lab)/pid", encoding: .utf8)
      let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
      #expect(kill(pid, SIGSTOP) == 0)
      let start = Date()
      // Control answer 5 s, then SIGTERM and 3 s, then SIGKILL and the clean-up.
      let down = try Harness.patchbay("down", lab, timeout: 40)
      let elapsed = Date().timeIntervalSince(start)
      #expect(down.status == 0, "\(down.errors)")
      #expect(elapsed < 20, "down took \(elapsed) s")
      #expect(kill(pid, 0) != 0, "the daemon still runs")
      #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
    }
  }
}
