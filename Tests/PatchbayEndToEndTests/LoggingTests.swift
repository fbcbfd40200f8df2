import Foundation
import Testing

/// The daemon's log (`daemon.log` of a detached lab): lines at each level
/// appear or not as `--log-level` says, a port's interface going and coming
/// back is logged, a burst of drops is summarised, and `--log-format json`
/// writes one object a line.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct LoggingTests {
  static let lab = "e2log"
  static let veth = "e2v-log"

  /// h1 and the sender `a` on TAPs, `far` attached to the veth `e2v-log`.
  static let yaml = """
    name: \(lab)
    switches:
      core:
        ports:
          h1: {}
          a: {}
          far: {attach: \(veth)}
    hosts:
      h1: {port: core/h1, address: 10.0.41.1/24}
      a: {port: core/a, address: 10.0.41.2/24}
    """

  static func makeVeth() throws {
    _ = try? Harness.ip("link", "del", veth)
    try Harness.ip("link", "add", veth, "type", "veth", "peer", "name", "\(veth)p")
    try Harness.ip("link", "set", "\(veth)p", "up")
  }

  static func removeVeth() { _ = try? Harness.ip("link", "del", veth) }

  /// Brings the lab up detached with `options`, runs `body` with the path of
  /// its daemon.log, and always takes it down (nothing may be left).
  static func withLoggingLab(
    _ options: [String], yaml: String = yaml, lab: String = lab, _ body: (String) throws -> Void
  ) throws {
    try LabGate.shared.sharing {
      Harness.forceClean(lab)
      let file = try Harness.topologyFile(yaml, name: lab)
      let up = try Harness.run(Harness.binary, ["up", file, "--detach"] + options)
      try #require(up.status == 0, "up failed: \(up.errors)")
      defer {
        let down = try? Harness.patchbay("down", lab)
        #expect(down?.status == 0, "down failed: \(down?.errors ?? "")")
        let left = Harness.leftovers(of: lab)
        #expect(left.isEmpty, "left behind after down: \(left)")
        Harness.forceClean(lab)
      }
      try body("/run/patchbay/\(lab)/daemon.log")
    }
  }

  static func lines(of log: String) -> [String] {
    ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(
      String.init)
  }

  /// Waits up to `seconds` for a line of `log` containing `text`; returns the lines then.
  @discardableResult
  static func waitForLine(_ text: String, in log: String, seconds: Double = 10) -> [String] {
    var lines: [String] = []
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
      lines = Self.lines(of: log)
      if lines.contains(where: { $0.contains(text) }) { break }
      usleep(100_000)
    } while Date() < deadline
    return lines
  }

  @Test func debugLogsLifecyclePortEventsAndOneLinePerDropBurst() throws {
    try Self.makeVeth()
    defer { Self.removeVeth() }
    try Self.withLoggingLab(["--log-level", "debug"]) { log in
      _ = try Harness.status(Self.lab)
      var lines = Self.waitForLine("control: status", in: log)
      #expect(
        lines.contains {
          $0.hasPrefix(
            "patchbay: info: lab e2log up: 1 switch, 3 ports, 2 hosts, 0 VMs, 0 uplinks ")
        }, "\(lines)")
      #expect(lines.contains { $0.hasPrefix("patchbay: debug: control: status ") }, "\(lines)")

      // The attached interface vanishes, then comes back.
      Self.removeVeth()
      lines = Self.waitForLine("port core/far down", in: log)
      #expect(
        lines.contains {
          $0.hasPrefix("patchbay: notice: port core/far down: its interface went away ")
        }, "\(lines)")
      try Self.makeVeth()
      lines = Self.waitForLine("port core/far up", in: log)
      #expect(
        lines.contains {
          $0.hasPrefix("patchbay: notice: port core/far up: its interface is back ")
        },
        "\(lines)")

      // 200 frames to the reserved group 01:80:c2:00:00:00 (STP), each a
      // `reserved-group` drop on core/a.
      let frame = "0180c2000000" + "0200000000a2" + "0800" + String(repeating: "00", count: 46)
      try Inject.frames(Self.lab, "a", Array(repeating: frame, count: 200))
      lines = Self.waitForLine("port core/a dropped", in: log, seconds: 12)
      // One more summary interval, so a burst split by a 5 s boundary shows both halves.
      usleep(5_500_000)
      lines = Self.lines(of: log)
      let summaries = lines.filter { $0.contains("port core/a dropped") }
      // One line per 5 s window: the 200 frames left inject.py within a
      // millisecond, so at most a window boundary splits them in two.
      #expect((1...2).contains(summaries.count), "\(summaries)")
      let counted = summaries.compactMap { line -> Int? in
        guard let range = line.range(of: "reserved-group ") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
      }
      #expect(counted.reduce(0, +) == 200, "\(summaries)")
      #expect(
        summaries.allSatisfy { $0.hasPrefix("patchbay: notice: port core/a dropped ") },
        "\(summaries)")
      #expect(lines.filter { $0.contains("reserved-group") }.count == summaries.count)
    }
  }

  @Test func atWarningNoInfoLineIsWrittenButWarningsAre() throws {
    // No veth: the attached interface is missing, which `up` warns about.
    Self.removeVeth()
    try Self.withLoggingLab(["--log-level", "warning"]) { log in
      _ = try Harness.status(Self.lab)
      let set = try Harness.patchbay("set", Self.lab, "core/h1", "rate", "ingress=10mbit")
      #expect(set.status == 0, "\(set.errors)")
      let lines = Self.waitForLine("patchbay: warning: ", in: log)
      #expect(
        lines.contains { $0.contains("patchbay: warning: ") && $0.contains("e2v-log") }, "\(lines)")
      // The lab's up line, the set request and the status request were not written.
      #expect(lines.allSatisfy { $0.hasPrefix("patchbay: warning: ") }, "\(lines)")
      #expect(
        !lines.contains { $0.contains("lab e2log up") || $0.contains("control:") }, "\(lines)")
    }
  }

  @Test func jsonLinesAreOneObjectEachWithTimeLevelLabelMessageAndMetadata() throws {
    try Self.makeVeth()
    defer { Self.removeVeth() }
    try Self.withLoggingLab(["--log-format", "json"]) { log in
      let set = try Harness.patchbay("set", Self.lab, "core/h1", "rate", "ingress=10mbit")
      #expect(set.status == 0, "\(set.errors)")
      let lines = Self.waitForLine("control: set", in: log)
      #expect(lines.count >= 3, "\(lines)")
      var messages: [String] = []
      for line in lines {
        let object = try #require(
          JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        #expect(
          Set(object.keys) == ["time", "level", "label", "message", "metadata"], "\(line)")
        #expect(object["label"] as? String == "patchbay")
        #expect((object["time"] as? String)?.hasSuffix("Z") == true, "\(line)")
        let metadata = try #require(object["metadata"] as? [String: Any], "\(line)")
        #expect(metadata["lab"] as? String == Self.lab, "\(line)")
        if (object["message"] as? String)?.hasPrefix("lab e2log up") == true {
          #expect(object["level"] as? String == "info")
          #expect(metadata["ports"] as? String == "3", "\(line)")
        }
        messages.append(object["message"] as? String ?? "")
      }
      #expect(messages.contains { $0.hasPrefix("building lab e2log") }, "\(messages)")
      #expect(messages.contains { $0.hasPrefix("lab e2log up: ") }, "\(messages)")
      #expect(
        messages.contains("control: set core/h1 rate ingress=10mbit: core/h1: rate ingress 10mbit"),
        "\(messages)")
    }
  }
}

extension LoggingTests {
  @Test func anUnknownLevelOrFormatIsOneErrorLineAndStartsNothing() throws {
    let file = try Harness.topologyFile(Self.yaml, name: Self.lab)
    for option in [["--log-level", "loud"], ["--log-format", "xml"]] {
      let up = try Harness.run(Harness.binary, ["up", file, "--detach"] + option)
      #expect(up.status != 0)
      let lines = up.errors.split(separator: "\n")
      #expect(lines.count == 1, "\(up.errors)")
      #expect(
        up.errors.hasPrefix(
          "patchbay: error: The value '\(option[1])' is invalid for '\(option[0])"),
        "\(up.errors)")
      #expect(!FileManager.default.fileExists(atPath: "/run/patchbay/\(Self.lab)"))
    }
  }
}

/// A VM that exits is logged with the port it takes down.
@Suite(
  .serialized,
  .enabled(
    if: Harness.canRunLabs && TestGuest.directory != nil,
    "needs root with CAP_NET_ADMIN and the test guest: Scripts/guest-image .build-guest/guest"))
struct VMLoggingTests {
  @Test func aKilledQEMUIsLoggedAsTheVMExitingAndItsPortHeldDown() throws {
    let lab = "e2logvm"
    let guest = TestGuest.directory ?? ""
    let yaml = """
      name: \(lab)
      switches:
        core:
          ports:
            v1: {}
      vms:
        v1: {port: core/v1, kernel: \(guest)/vmlinuz, initrd: \(guest)/initrd.img, accel: tcg}
      """
    try LoggingTests.withLoggingLab([], yaml: yaml, lab: lab) { log in
      let vms = try Harness.status(lab)["vms"] as? [[String: Any]] ?? []
      let pid = try #require(vms.first?["pid"] as? Int, "\(vms)")
      #expect(kill(Int32(pid), SIGKILL) == 0)
      let lines = LoggingTests.waitForLine("port core/v1 down", in: log)
      #expect(
        lines.contains {
          $0.hasPrefix("patchbay: notice: vm v1 exited (signal 9); its ports are down ")
        },
        "\(lines)")
      #expect(
        lines.contains {
          $0.hasPrefix("patchbay: notice: port core/v1 down: held down (its VM exited) ")
        }, "\(lines)")
    }
  }
}
