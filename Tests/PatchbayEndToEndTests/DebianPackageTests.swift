import Foundation
import Testing

/// `Scripts/package`: the `.deb` installs with `dpkg -i`, runs a lab from /usr/bin/patchbay,
/// carries a unit `systemd-analyze verify` accepts and whose commands bring a lab up and
/// down, and `dpkg --purge` leaves nothing of it.
@Suite struct DebianPackageTests {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// Not on a machine where Patchbay is installed as a package already: the test would
  /// purge it.
  static let canInstall: Bool = {
    Harness.canRunLabs && FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")
      && !FileManager.default.fileExists(atPath: "/usr/bin/patchbay")
  }()

  static let unitLab = "e2pkgu"
  static let unitTopology = "/etc/patchbay/\(unitLab).yaml"

  /// `dpkg ARGUMENTS...`, again while another dpkg or apt-get holds the lock.
  static func dpkg(_ arguments: String...) throws -> Harness.Result {
    var result = try Harness.run("/usr/bin/dpkg", arguments, timeout: 120)
    for _ in 0..<30 where result.status != 0 && result.errors.contains("lock") {
      sleep(2)
      result = try Harness.run("/usr/bin/dpkg", arguments, timeout: 120)
    }
    return result
  }

  /// The value of `key=` in the installed unit, `%i` replaced by `instance`.
  static func unitCommand(_ key: String, in unit: String, instance: String) throws -> [String] {
    let line = try #require(
      unit.split(separator: "\n").first { $0.hasPrefix("\(key)=") }, "no \(key)= in the unit")
    var command = String(line.dropFirst(key.count + 1))
    if command.hasPrefix("-") { command.removeFirst() }  // "-": a failure is not the unit's
    return command.replacingOccurrences(of: "%i", with: instance).split(separator: " ").map(
      String.init)
  }

  @Test(.enabled(if: canInstall, "needs root, systemd-analyze and no installed patchbay package"))
  func packageInstallsRunsALabVerifiesItsUnitAndPurgesCleanly() throws {
    try LabGate.shared.sharing {
      let output = FileManager.default.temporaryDirectory
        .appendingPathComponent("patchbay-deb-\(UUID().uuidString)").path
      defer {
        for lab in ["e2pkg", Self.unitLab] { Harness.forceClean(lab) }
        try? FileManager.default.removeItem(atPath: Self.unitTopology)
        _ = try? Self.dpkg("--purge", "patchbay")
        try? FileManager.default.removeItem(atPath: output)
      }
      let version = try Harness.patchbay("--version").output
        .trimmingCharacters(in: .whitespacesAndNewlines)
      let arch = try Harness.run("/usr/bin/dpkg", ["--print-architecture"]).output
        .trimmingCharacters(in: .whitespacesAndNewlines)
      let script = Self.repository.appendingPathComponent("Scripts/package").path
      let built = try Harness.run(
        "/usr/bin/env", ["PATCHBAY_BINARY=\(Harness.binary)", script, output], timeout: 300)
      try #require(built.status == 0, "\(built.errors)")
      let deb = built.output.trimmingCharacters(in: .whitespacesAndNewlines)
      #expect(deb == "\(output)/patchbay_\(version)_\(arch).deb")

      let fields = try Harness.run(
        "/usr/bin/dpkg-deb", ["-f", deb, "Package", "Version", "Architecture", "Depends"])
      #expect(fields.output.contains("Version: \(version)\n"), "\(fields.output)")
      #expect(fields.output.contains("Architecture: \(arch)\n"), "\(fields.output)")
      let depends =
        fields.output.split(separator: "\n").first { $0.hasPrefix("Depends: ") }
        .map { $0.dropFirst(9).components(separatedBy: ", ") } ?? []
      for package in ["libc6", "libpcap0.8", "libseccomp2", "iproute2"] {
        #expect(depends.contains(package), "Depends: \(depends)")
      }

      let installed = try Self.dpkg("-i", deb)
      try #require(installed.status == 0, "dpkg -i: \(installed.errors)")
      let listing = try Self.dpkg("-L", "patchbay")
      let files = listing.output.split(separator: "\n").map(String.init).filter { $0 != "/." }
      var expected = [
        "/usr/bin/patchbay", "/lib/systemd/system/patchbay@.service", "/etc/patchbay",
        "/usr/share/man/man1/patchbay.1.gz", "/usr/share/man/man1/patchbay-up.1.gz",
        "/usr/share/man/man1/patchbay-capture.1.gz",
        "/usr/share/bash-completion/completions/patchbay",
        "/usr/share/zsh/vendor-completions/_patchbay",
        "/usr/share/fish/vendor_completions.d/patchbay.fish",
      ]
      let schema = Self.repository.appendingPathComponent("schema/patchbay.schema.json").path
      if FileManager.default.fileExists(atPath: schema) {
        expected.append("/usr/share/patchbay/patchbay.schema.json")
      }
      for path in expected { #expect(files.contains(path), "\(path) not in dpkg -L") }
      // The installed binary, its pages where man finds them.
      let installedVersion = try Harness.run("/usr/bin/patchbay", ["--version"])
      #expect(installedVersion.output == "\(version)\n")
      let manPath = try Harness.run("/usr/bin/man", ["-w", "patchbay-up"])
      #expect(manPath.output == "/usr/share/man/man1/patchbay-up.1.gz\n", "\(manPath.errors)")

      // A lab from the installed binary.
      let file = try Harness.topologyFile(Harness.threeHosts("e2pkg"), name: "e2pkg")
      let up = try Harness.run("/usr/bin/patchbay", ["up", file, "--detach"])
      try #require(up.status == 0, "up: \(up.errors)")
      let status = try Harness.run("/usr/bin/patchbay", ["status", "e2pkg", "--json"])
      #expect(status.status == 0, "\(status.errors)")
      let decoded = try JSONSerialization.jsonObject(with: Data(status.output.utf8))
      let lab = try #require(decoded as? [String: Any])
      #expect(Harness.port("core/h3", in: lab) != nil, "\(status.output)")
      let ping = try Harness.run(
        "/usr/bin/patchbay",
        ["exec", "e2pkg", "h1", "--", "ping", "-c", "1", "-W", "2", "10.0.0.2"])
      #expect(ping.status == 0, "\(ping.output)")
      let down = try Harness.run("/usr/bin/patchbay", ["down", "e2pkg"])
      #expect(down.status == 0, "down: \(down.errors)")
      #expect(Harness.leftovers(of: "e2pkg").isEmpty, "\(Harness.leftovers(of: "e2pkg"))")

      try Self.checkUnit(lab: Self.unitLab)

      let purged = try Self.dpkg("--purge", "patchbay")
      #expect(purged.status == 0, "dpkg --purge: \(purged.errors)")
      let state = try Harness.run("/usr/bin/dpkg-query", ["-W", "-f=${Status}", "patchbay"])
      #expect(state.status != 0 || state.output.contains("not-installed"), "\(state.output)")
      // Every file is gone; a folder stays only while another package owns it too.
      for path in files where FileManager.default.fileExists(atPath: path) {
        var isDirectory: ObjCBool = false
        FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let owner = try Harness.run("/usr/bin/dpkg-query", ["-S", path])
        #expect(isDirectory.boolValue && owner.status == 0, "left after purge: \(path)")
      }
    }
  }

  /// The installed unit: `systemd-analyze verify` of an instance accepts it (its binary
  /// and man pages found); there is no systemd running in the test's container to start
  /// it, so its ExecStart runs as systemd would run it, gets KillSignal, must leave
  /// nothing, and its ExecStopPost must succeed after it.
  static func checkUnit(lab: String) throws {
    let unitPath = "/lib/systemd/system/patchbay@.service"
    let verify = try Harness.run(
      "/usr/bin/systemd-analyze", ["verify", "/lib/systemd/system/patchbay@\(lab).service"])
    #expect(verify.status == 0, "systemd-analyze verify: \(verify.errors)")
    #expect(verify.errors.isEmpty, "systemd-analyze verify: \(verify.errors)")
    let unit = try String(contentsOfFile: unitPath, encoding: .utf8)
    #expect(unit.contains("\nType=simple\n") && unit.contains("\nKillMode=mixed\n"))
    let start = try unitCommand("ExecStart", in: unit, instance: lab)
    #expect(start == ["/usr/bin/patchbay", "up", unitTopology])
    let stopPost = try unitCommand("ExecStopPost", in: unit, instance: lab)

    try Harness.threeHosts(lab).write(toFile: unitTopology, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: start[0])
    process.arguments = Array(start.dropFirst())
    let log = Pipe()
    process.standardOutput = log
    process.standardError = log
    process.standardInput = FileHandle.nullDevice
    try process.run()
    defer {
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
    var ready = false
    for _ in 0..<300 where !ready {
      ready = FileManager.default.fileExists(atPath: "/run/patchbay/\(lab)/control.sock")
      if !ready { usleep(50_000) }
    }
    #expect(ready, "the unit's ExecStart never brought \(lab) up")
    let ping = try Harness.run(
      "/usr/bin/patchbay", ["exec", lab, "h2", "--", "ping", "-c", "1", "-W", "2", "10.0.0.3"])
    #expect(ping.status == 0, "\(ping.output)")
    kill(process.processIdentifier, SIGTERM)  // the unit's KillSignal, to the main process
    let deadline = Date().addingTimeInterval(60)
    while process.isRunning && Date() < deadline { usleep(50_000) }
    #expect(!process.isRunning, "up did not stop within 60 s of SIGTERM")
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    let text = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(process.terminationStatus == 0, "\(text)")
    #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
    let post = try Harness.run(stopPost[0], Array(stopPost.dropFirst()))
    #expect(post.status == 0, "ExecStopPost: \(post.errors)")
    try FileManager.default.removeItem(atPath: unitTopology)
  }
}
