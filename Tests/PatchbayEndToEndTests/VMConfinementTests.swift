import Foundation
import Glibc
import Testing

/// What a lab's QEMU may do, and how much its logs may hold: QEMU runs as the
/// `patchbay` user without capabilities inside its seccomp sandbox, a disk's
/// format comes from the topology (never from its bytes), a backing file
/// opens only when declared, and console and host logs keep at most their cap.
@Suite(
  .serialized,
  .enabled(
    if: Harness.canRunLabs && TestGuest.directory != nil,
    "needs root with CAP_NET_ADMIN and the test guest: Scripts/guest-image .build-guest/guest"))
struct VMConfinementTests {
  /// A folder for a test's images, removed at the end.
  static func withFolder(_ body: (String) throws -> Void) throws {
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-e2q-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try body(folder)
  }

  /// The `Key:` line of /proc/PID/status, split into its fields.
  static func status(_ pid: Int32, _ key: String) throws -> [String] {
    let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    let line = text.split(separator: "\n").first { $0.hasPrefix("\(key):") } ?? ""
    return line.dropFirst(key.count + 1).split(whereSeparator: \.isWhitespace).map(String.init)
  }

  /// `patchbay`'s uid and gid, from /etc/passwd (the lab makes the user).
  static func serviceUser() throws -> (uid: String, gid: String) {
    let passwd = try String(contentsOfFile: "/etc/passwd", encoding: .utf8)
    let fields = try #require(
      passwd.split(separator: "\n").map {
        $0.split(separator: ":", omittingEmptySubsequences: false)
      }
      .first { $0.first == "patchbay" })
    return (String(fields[2]), String(fields[3]))
  }

  @Test func qemuRunsUnprivilegedInItsSandboxOpensARawDiskAsRawAndTheGuestStillWorks() throws {
    let lab = "e2qsec"
    try Self.withFolder { folder in
      // A raw disk whose guest wrote a valid qcow2 header into it, naming a
      // backing file: read as qcow2 it would make QEMU (as root) open that file.
      let backing = folder + "/chosen-by-the-guest"
      try Data(repeating: 0x42, count: 1 << 20).write(to: URL(fileURLWithPath: backing))
      try QCOW2Image.bytes(backing: backing).write(to: URL(fileURLWithPath: folder + "/disk.img"))
      let watch = inotify_init1(Int32(O_NONBLOCK | O_CLOEXEC))
      try #require(watch >= 0)
      defer { close(watch) }
      try #require(inotify_add_watch(watch, backing, 0x20 /* IN_OPEN */) >= 0)
      let guest = TestGuest.directory ?? ""
      let yaml = """
        name: \(lab)
        switches:
          core:
            ports:
              v1: {}
              h1: {}
        hosts:
          h1: {port: core/h1, address: 10.0.19.1/24}
        vms:
          v1:
            port: core/v1
            kernel: \(guest)/vmlinuz
            initrd: \(guest)/initrd.img
            disk: \(folder)/disk.img
            accel: tcg
            stop-timeout: 60s
            append: "quiet pb.name=v1 pb.ip=10.0.19.11/24 pb.ping=10.0.19.1"
        """
      Harness.forceClean(lab)
      defer { Harness.forceClean(lab) }
      let up = try Harness.patchbay("up", try Harness.topologyFile(yaml, name: lab), "--detach")
      try #require(up.status == 0, "\(up.errors)")
      let pid = try #require(Harness.qemuProcesses(of: lab).first)
      // QEMU is the patchbay user through and through, with no capability, in seccomp's filter mode.
      let user = try Self.serviceUser()
      #expect(try Self.status(pid, "Uid") == [user.uid, user.uid, user.uid, user.uid])
      #expect(try Self.status(pid, "Gid") == [user.gid, user.gid, user.gid, user.gid])
      #expect(try Self.status(pid, "CapEff") == ["0000000000000000"])
      #expect(try Self.status(pid, "CapPrm") == ["0000000000000000"])
      #expect(try Self.status(pid, "Seccomp") == ["2"])
      #expect(try Self.status(pid, "NoNewPrivs") == ["1"])
      let command = try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
      #expect(command.contains("file=\(folder)/disk.img,if=virtio,format=raw\0"), "\(command)")
      // The guest still boots, and pings h1 through the switch.
      let console = VMTests.console("v1", until: "PATCHBAY-DONE", lab: lab)
      #expect(console.contains("PATCHBAY-PING 10.0.19.1 ok"), "\(console.suffix(1500))")
      // The disk is open, the backing file was never opened by anyone.
      let descriptors =
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
      let targets = descriptors.compactMap {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")
      }
      #expect(targets.contains("\(folder)/disk.img") && !targets.contains(backing), "\(targets)")
      var event = [UInt8](repeating: 0, count: 4096)
      #expect(read(watch, &event, event.count) < 0, "something opened \(backing)")
      // `down` presses the power button and the guest powers off, well within its 60 s.
      let started = Date()
      let down = try Harness.patchbay("down", lab, timeout: 90)
      let took = Date().timeIntervalSince(started)
      #expect(down.status == 0, "\(down.errors)")
      #expect(took < 50, "down took \(took) s: the guest did not power off on the button")
      #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
    }
  }

  @Test func aQCOW2DiskWithAnUndeclaredBackingFileIsRefusedInOneLine() throws {
    let lab = "e2qbad"
    try Self.withFolder { folder in
      let backing = folder + "/base.img"
      try Data(repeating: 0, count: 1 << 20).write(to: URL(fileURLWithPath: backing))
      try QCOW2Image.bytes(backing: backing).write(to: URL(fileURLWithPath: folder + "/top.qcow2"))
      let guest = TestGuest.directory ?? ""
      let yaml = """
        name: \(lab)
        switches:
          core:
            ports:
              v1: {}
        vms:
          v1: {port: core/v1, kernel: \(guest)/vmlinuz, accel: tcg, disk: \(folder)/top.qcow2}
        """
      let file = try Harness.topologyFile(yaml, name: lab)
      // The disk's column depends on how long the guest's path is.
      let vmLine = String(yaml.split(separator: "\n")[6])
      let column = vmLine.distance(
        from: vmLine.startIndex, to: vmLine.range(of: "disk: ")!.upperBound) + 1
      let message =
        "\(file):7:\(column): error: disk '\(folder)/top.qcow2' names a backing file '\(backing)' in its qcow2 header; QEMU opens it only when the topology declares it (disk: {file: ..., backing: ...})\n"
      let validate = try Harness.patchbay("validate", file)
      #expect(validate.status == 1 && validate.errors == message, "\(validate.errors)")
      Harness.forceClean(lab)
      defer { Harness.forceClean(lab) }
      let up = try Harness.patchbay("up", file, "--detach")
      #expect(up.status == 1 && up.errors == message, "\(up.errors)")
      #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
      // Declared, the same disk is accepted.
      let declared = yaml.replacingOccurrences(
        of: "disk: \(folder)/top.qcow2",
        with: "disk: {file: \(folder)/top.qcow2, backing: \(backing)}")
      let accepted = try Harness.patchbay("validate", try Harness.topologyFile(declared, name: lab))
      #expect(accepted.status == 0, "\(accepted.errors)")
    }
  }

  /// The size of `path`, 0 when missing.
  static func size(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
  }

  @Test func aHostProgramPrinting100MiBLeavesAtMostTheDefaultCapInRun() throws {
    let lab = "e2qhlog"
    let cap = 16 << 20
    let yaml = """
      name: \(lab)
      switches:
        core:
          ports:
            h1: {}
      hosts:
        h1:
          port: core/h1
          address: 10.0.17.1/24
          run: head -c 104857600 /dev/zero | tr '\\0' x; echo; echo HOST-FLOOD-DONE; exec sleep 600
      """
    try Harness.withLab(yaml, named: lab) { _ in
      let path = "/run/patchbay/\(lab)/h1.log"
      var tail = ""
      let deadline = Date().addingTimeInterval(120)
      while Date() < deadline {
        // Only the end: reading 16 MiB over and over would slow the flood.
        if let handle = FileHandle(forReadingAtPath: path) {
          let end = (try? handle.seekToEnd()) ?? 0
          try? handle.seek(toOffset: end > 64 ? end - 64 : 0)
          tail = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
          try? handle.close()
        }
        if tail.contains("HOST-FLOOD-DONE") { break }
        usleep(200_000)
      }
      #expect(tail.hasSuffix("HOST-FLOOD-DONE\n"), "\(tail)")
      #expect(Self.size(path) <= cap && Self.size(path + ".1") <= cap)
      #expect(Self.size(path) + Self.size(path + ".1") > cap, "the log rotated once at least")
    }
  }

  @Test func consoleAndHostLogsKeepAtMostTheirCapAndConsoleFollowsThroughRotations() throws {
    let lab = "e2qlog"
    let guest = TestGuest.directory ?? ""
    let cap = 64 << 10
    // h1 prints 100 MiB and then a last line; v1's shell is made to print
    // about 600 KiB, nine times the cap, on its serial console.
    let yaml = """
      name: \(lab)
      log-cap: 64KiB
      switches:
        core:
          ports:
            v1: {}
            h1: {}
      hosts:
        h1:
          port: core/h1
          address: 10.0.18.1/24
          run: head -c 104857600 /dev/zero | tr '\\0' x; echo; echo HOST-FLOOD-DONE; exec sleep 600
      vms:
        v1:
          port: core/v1
          kernel: \(guest)/vmlinuz
          initrd: \(guest)/initrd.img
          accel: tcg
          append: "quiet pb.name=v1 pb.ip=10.0.18.11/24"
      """
    try Harness.withLab(yaml, named: lab) { _ in
      let directory = "/run/patchbay/\(lab)"
      var hostLog = ""
      let deadline = Date().addingTimeInterval(120)
      while Date() < deadline {
        hostLog = (try? String(contentsOfFile: "\(directory)/h1.log", encoding: .utf8)) ?? ""
        if hostLog.contains("HOST-FLOOD-DONE") { break }
        usleep(200_000)
      }
      #expect(hostLog.contains("HOST-FLOOD-DONE"))
      #expect(Self.size("\(directory)/h1.log") <= cap && Self.size("\(directory)/h1.log.1") <= cap)
      #expect(hostLog.contains("older ones were discarded]"), "\(hostLog.prefix(200))")

      _ = VMTests.console("v1", until: "PATCHBAY-DONE", lab: lab)
      let follower = try Background(Harness.binary, ["console", lab, "v1"])
      let flood =
        "i=0; while [ $i -lt 6000 ]; do echo FLOOD-$i-................................................................................; i=$((i+1)); done; echo FLOOD-$((6*7))-END"
      let typed = try Harness.run(
        "/bin/sh",
        ["-c", "(sleep 1; echo '\(flood)'; sleep 2) | \(Harness.binary) console \(lab) v1 -i"],
        timeout: 30)
      #expect(typed.status == 0)
      var console = ""
      let floodDeadline = Date().addingTimeInterval(240)
      while Date() < floodDeadline {
        console = (try? String(contentsOfFile: "\(directory)/v1.console", encoding: .utf8)) ?? ""
        if console.contains("FLOOD-42-END") { break }
        usleep(500_000)
      }
      #expect(console.contains("FLOOD-42-END"), "\(console.suffix(300))")
      #expect(Self.size("\(directory)/v1.console") <= cap)
      #expect(Self.size("\(directory)/v1.console.1") <= cap)
      #expect(console.contains("[patchbay: this log keeps at most \(cap) bytes"))
      // The follower went on through every rotation, to the end.
      usleep(500_000)
      let followed = String(decoding: follower.finish(signal: SIGKILL).output, as: UTF8.self)
      #expect(
        followed.contains("FLOOD-5999-") && followed.contains("FLOOD-42-END"),
        "\(followed.suffix(300))")
    }
  }
}
