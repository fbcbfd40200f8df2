import Foundation
import Testing

/// Topology captures in a folder someone else owns: no symlink followed, the
/// files and folders made as that owner, a refused path one error line and
/// nothing left; a capture that cannot write says so in `status` while the lab
/// switches on; and a capture reader that stops reading never holds up `down`.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct CaptureSafetyTests {
  /// Two hosts, and `captures` (YAML lines under `captures:`).
  static func topology(_ lab: String, subnet: Int, captures: String) -> String {
    """
    name: \(lab)
    switches:
      core:
        ports:
          a: {}
          b: {}
    hosts:
      h1: {port: core/a, address: 10.0.\(subnet).1/24}
      h2: {port: core/b, address: 10.0.\(subnet).2/24}
    """ + (captures.isEmpty ? "" : "\ncaptures:\n" + captures)
  }

  /// A fresh folder owned by nobody (65534), like a user's lab folder.
  static func nobodysFolder() throws -> String {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-e2cp-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    try #require(chown(path, 65534, 65534) == 0 && chmod(path, 0o755) == 0)
    return path
  }

  /// A root-owned file of the test's own, the attack's target (never a system file).
  static func rootsFile() throws -> (directory: String, path: String, bytes: Data) {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-e2cp-root-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/x.pcapng"
    let bytes = Data("root's own file: must survive\n".utf8)
    try bytes.write(to: URL(fileURLWithPath: path))
    return (directory, path, bytes)
  }

  static func owner(of path: String) -> uid_t? {
    var info = stat()
    return lstat(path, &info) == 0 ? info.st_uid : nil
  }

  /// `up` of `file` must fail with one `patchbay: error:` line about the
  /// refused path and leave nothing of `lab`.
  static func expectRefused(_ file: String, lab: String) throws {
    Harness.forceClean(lab)
    defer { Harness.forceClean(lab) }
    let up = try Harness.patchbay("up", file, "--detach")
    #expect(up.status != 0, "up accepted a symlinked capture path: \(up.output)")
    let lines = up.errors.split(separator: "\n")
    #expect(lines.count == 1, "\(up.errors)")
    #expect(
      lines.first?.hasPrefix("patchbay: error: capture x: refused ") == true
        && lines.first?.contains("symbolic link") == true, "\(up.errors)")
    #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
  }

  @Test func aCaptureFileSymlinkedToRootsFileIsRefusedAndTheFileKept() throws {
    let folder = try Self.nobodysFolder()
    let target = try Self.rootsFile()
    defer {
      try? FileManager.default.removeItem(atPath: folder)
      try? FileManager.default.removeItem(atPath: target.directory)
    }
    // What the folder's owner can do: a captures folder with a symlink in it.
    try FileManager.default.createDirectory(
      atPath: folder + "/captures", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      atPath: folder + "/captures/x.pcapng", withDestinationPath: target.path)
    #expect(lchown(folder + "/captures", 65534, 65534) == 0)
    #expect(lchown(folder + "/captures/x.pcapng", 65534, 65534) == 0)
    let file = folder + "/lab.yaml"
    try Self.topology(
      "e2cpsym", subnet: 118,
      captures: "  x: {ports: [core/a], file: captures/x.pcapng}"
    ).write(toFile: file, atomically: true, encoding: .utf8)
    try Self.expectRefused(file, lab: "e2cpsym")
    #expect(try Data(contentsOf: URL(fileURLWithPath: target.path)) == target.bytes)
  }

  @Test func aSymlinkedCaptureFolderIsRefusedAndNothingWrittenThrough() throws {
    let folder = try Self.nobodysFolder()
    let target = try Self.rootsFile()
    defer {
      try? FileManager.default.removeItem(atPath: folder)
      try? FileManager.default.removeItem(atPath: target.directory)
    }
    try FileManager.default.createSymbolicLink(
      atPath: folder + "/captures", withDestinationPath: target.directory)
    #expect(lchown(folder + "/captures", 65534, 65534) == 0)
    let file = folder + "/lab.yaml"
    // A ring too: its files would be made through the link as well.
    try Self.topology(
      "e2cpdir", subnet: 119,
      captures: """
          x: {ports: [core/a], file: captures/x.pcapng}
          y: {ports: [core/b], file: captures/new/y.pcapng, ring: {files: 2, size: 16KiB}}
        """
    ).write(toFile: file, atomically: true, encoding: .utf8)
    try Self.expectRefused(file, lab: "e2cpdir")
    #expect(try Data(contentsOf: URL(fileURLWithPath: target.path)) == target.bytes)
    #expect(try FileManager.default.contentsOfDirectory(atPath: target.directory) == ["x.pcapng"])
  }

  @Test func aCapturesFilesAndNewFoldersBelongToTheFoldersOwner() throws {
    let folder = try Self.nobodysFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let lab = "e2cpown"
    let yaml = Self.topology(
      lab, subnet: 120,
      captures: """
          one: {ports: [core/a], file: \(folder)/out/one.pcapng}
          ring: {ports: [core/a, core/b], file: \(folder)/out/deep/r.pcapng, ring: {files: 3, size: 16KiB}}
        """)
    try Harness.withLab(yaml, named: lab) { _ in
      // Enough for the ring to rotate (its later files are made by the capture thread).
      let ping = try Harness.exec(
        lab, "h1", "ping", "-c", "40", "-i", "0.01", "-s", "1000", "-q", "10.0.120.2")
      #expect(ping.status == 0, "\(ping.output)")
      usleep(300_000)
    }
    let ring = try FileManager.default.contentsOfDirectory(atPath: folder + "/out/deep")
    #expect(ring.count >= 2, "the ring did not rotate: \(ring)")
    let paths =
      [folder + "/out", folder + "/out/one.pcapng", folder + "/out/deep"]
      + ring.map { folder + "/out/deep/" + $0 }
    for path in paths {
      #expect(Self.owner(of: path) == 65534, "\(path) is owned by \(Self.owner(of: path) ?? 0)")
    }
    let packets = try CaptureTests.tcpdumpCount(folder + "/out/one.pcapng")
    #expect(packets >= 80, "one.pcapng holds \(packets) frames")
  }

  @Test func aStoppedCaptureReaderDoesNotHoldUpDown() throws {
    let lab = "e2cpstop"
    // Exclusive: a flood ping loads the machine on purpose.
    try Harness.withLab(
      Self.topology(lab, subnet: 121, captures: ""), named: lab, exclusive: true
    ) { _ in
      // Two of them: they share the wait, so down is bounded however many stall.
      let clients = try (0..<2).map { _ in
        try Background(Harness.binary, ["capture", lab, "core/a", "-w", "-"], readsOutput: false)
      }
      defer {
        for client in clients {
          kill(client.process.processIdentifier, SIGCONT)
          _ = client.finish(signal: SIGKILL)
        }
      }
      usleep(300_000)
      for client in clients { kill(client.process.processIdentifier, SIGSTOP) }
      // Megabytes for a reader that reads nothing: the daemon's writer ends
      // up blocked on the connection.
      let ping = try Harness.exec(
        lab, "h1", "ping", "-f", "-c", "3000", "-s", "1400", "-q", "10.0.121.2", timeout: 60)
      #expect(ping.status == 0, "\(ping.output)")
      usleep(500_000)
      let started = Date()
      let down = try Harness.patchbay("down", lab, timeout: 40)
      let seconds = Date().timeIntervalSince(started)
      #expect(down.status == 0, "\(down.errors)")
      #expect(seconds < 8, "down took \(seconds) s with a stopped capture reader")
      #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
    }
  }

  @Test func aCaptureOnAFullDiskShowsInStatusAndTheLabSwitchesOn() throws {
    let lab = "e2cpfull"
    let disk = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-e2cp-tmpfs-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
    try #require(mount("tmpfs", disk, "tmpfs", 0, "size=256k") == 0, "mount: \(errno)")
    defer {
      umount2(disk, Int32(MNT_DETACH))
      try? FileManager.default.removeItem(atPath: disk)
    }
    let yaml = Self.topology(
      lab, subnet: 122, captures: "  full: {ports: [core/a], file: \(disk)/full.pcapng}")
    // Exclusive: a flood ping loads the machine on purpose.
    try Harness.withLab(yaml, named: lab, exclusive: true) { _ in
      // About 3 KB a ping on port a: far more than 256 KiB.
      let flood = try Harness.exec(
        lab, "h1", "ping", "-f", "-c", "400", "-s", "1400", "-q", "10.0.122.2", timeout: 60)
      #expect(flood.status == 0, "\(flood.output)")
      usleep(300_000)
      let status = try Harness.status(lab)
      let captures = status["captures"] as? [[String: Any]] ?? []
      try #require(captures.count == 1, "\(status)")
      let capture = captures[0]
      #expect(capture["name"] as? String == "capture full")
      #expect(capture["state"] as? String == "failed", "\(capture)")
      #expect(
        (capture["error"] as? String)?.contains("No space left on device") == true, "\(capture)")
      #expect((capture["unwritten"] as? Int ?? 0) > 100, "\(capture)")
      let text = try Harness.patchbay("status", lab)
      let row = text.output.split(separator: "\n").first { $0.contains("capture full") }
      #expect(
        row?.contains("failed") == true && row?.contains("No space left on device") == true,
        "\(text.output)")
      // The failure is in the daemon's log once, not once per frame.
      let log =
        (try? String(contentsOfFile: "/run/patchbay/\(lab)/daemon.log", encoding: .utf8))
        ?? ""
      let failures = log.split(separator: "\n").filter { $0.contains("No space left on device") }
      #expect(failures.count >= 1 && failures.count <= 3, "\(log)")
      #expect(failures.allSatisfy { $0.hasPrefix("patchbay: warning: capture full: ") }, "\(log)")
      // The lab still switches.
      let ping = try Harness.exec(lab, "h1", "ping", "-c", "1", "-W", "2", "10.0.122.2")
      #expect(ping.status == 0, "\(ping.output)")
      // The file holds whole blocks only: tcpdump reads it to its end.
      #expect(try CaptureTests.tcpdumpCount(disk + "/full.pcapng") > 0)
    }
  }
}
