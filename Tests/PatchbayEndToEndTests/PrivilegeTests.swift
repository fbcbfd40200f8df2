import Foundation
import Testing

/// What the daemon keeps of root once its lab is up, and what happens to the
/// lab when the daemon goes: only CAP_NET_ADMIN and CAP_NET_RAW, in the
/// datapath thread alone; a janitor removes everything, even after a crash;
/// the control socket answers root only.
@Suite(.enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct PrivilegeTests {
  static let lab = "e2priv"
  /// CAP_NET_ADMIN (12) and CAP_NET_RAW (13).
  static let netAdminAndRaw: UInt64 = 0x3000

  static func topology(_ name: String = lab, captureDirectory: String) -> String {
    """
    name: \(name)
    switches:
      core:
        ports:
          a: {}
          b: {}
    hosts:
      h1: {port: core/a, address: 10.0.41.1/24}
      h2: {port: core/b, address: 10.0.41.2/24}
    captures:
      all:
        ports: [core/a]
        file: \(captureDirectory)/a.pcapng
        ring: {files: 4, size: 16KiB}
    """
  }

  /// A directory owned by nobody (65534), like a user's own directory.
  static func nobodysDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-e2priv-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    #expect(chown(path, 65534, 65534) == 0)
    #expect(chmod(path, 0o755) == 0)
    return path
  }

  static func daemonPID() throws -> Int32 {
    let text = try String(contentsOfFile: "/run/patchbay/\(lab)/pid", encoding: .utf8)
    return try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
  }

  /// Each thread's (CapEff, CapPrm, CapBnd, NoNewPrivs) from /proc.
  static func threadPrivileges(of pid: Int32) throws -> [[String: UInt64]] {
    let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
    return try tasks.map { task in
      let status = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
      var fields: [String: UInt64] = [:]
      for line in status.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1).map {
          $0.trimmingCharacters(in: .whitespaces)
        }
        guard parts.count == 2, ["CapEff", "CapPrm", "CapBnd", "NoNewPrivs"].contains(parts[0])
        else { continue }
        fields[parts[0]] = UInt64(parts[1], radix: parts[0] == "NoNewPrivs" ? 10 : 16)
      }
      return fields
    }
  }

  /// How many datapath threads (named `patchbay-dp`, or `patchbay-dpN` of several) `pid` runs.
  static func datapathThreadCount(of pid: Int32) throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").filter {
      (try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8))?
        .hasPrefix("patchbay-dp") == true
    }.count
  }

  @Test func theDaemonKeepsOnlyNetAdminAndNetRawInItsDatapath() throws {
    let directory = try Self.nobodysDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try Harness.withLab(Self.topology(captureDirectory: directory), named: Self.lab) { _ in
      let pid = try Self.daemonPID()
      let threads = try Self.threadPrivileges(of: pid)
      #expect(threads.count >= 3, "main, datapath, control and capture threads: \(threads)")
      for thread in threads {
        for set in ["CapEff", "CapPrm", "CapBnd"] {
          #expect(thread[set].map { $0 & ~Self.netAdminAndRaw } == 0, "\(set): \(thread)")
        }
        #expect(thread["NoNewPrivs"] == 1, "\(thread)")
      }
      let privileged = threads.filter { $0["CapEff"] == Self.netAdminAndRaw }
      let datapathThreads = try Self.datapathThreadCount(of: pid)
      #expect(datapathThreads >= 1)
      #expect(
        privileged.count == datapathThreads, "the datapath threads alone keep them: \(threads)")

      // The switch still works, and the capture thread, with no capability,
      // keeps rotating its ring in a directory root does not own.
      let ping = try Harness.exec(
        Self.lab, "h1", "ping", "-c", "60", "-i", "0.01", "-s", "1000", "-q", "10.0.41.2")
      #expect(ping.status == 0, "\(ping.output)")
      let captureFiles = try FileManager.default.contentsOfDirectory(atPath: directory)
      #expect(captureFiles.count >= 2, "the ring rotated: \(captureFiles)")
      let ownedByNobody = captureFiles.filter { name in
        var info = stat()
        return stat("\(directory)/\(name)", &info) == 0 && info.st_uid == 65534
      }
      #expect(!ownedByNobody.isEmpty, "later ring files belong to the directory's owner")
    }
  }

  /// Every thread's status lines from /proc, by field name.
  static func threadStatus(of pid: Int32) throws -> [[String: String]] {
    let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
    return try tasks.map { task in
      let status = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
      var fields: [String: String] = ["Tid": task]
      for line in status.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { continue }
        fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces)
      }
      return fields
    }
  }

  /// The `patchbay` system user's uid and gid, from the password database.
  static func serviceUser() throws -> (uid: String, gid: String) {
    let entry = try #require(getpwnam("patchbay"), "up made the patchbay user")
    return ("\(entry.pointee.pw_uid)", "\(entry.pointee.pw_gid)")
  }

  @Test func everyThreadRunsAsThePatchbayUserUnderASystemCallFilter() throws {
    let lab = "e2pvuid"
    let directory = try Self.nobodysDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try Harness.withLab(Self.topology(lab, captureDirectory: directory), named: lab) { _ in
      let text = try String(contentsOfFile: "/run/patchbay/\(lab)/pid", encoding: .utf8)
      let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
      let user = try Self.serviceUser()
      #expect(user.uid != "0")
      let threads = try Self.threadStatus(of: pid)
      #expect(threads.count >= 4, "main, datapath, control, capture: \(threads.count)")
      var fileOwners: [String] = []
      for thread in threads {
        let uids = (thread["Uid"] ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
        let gids = (thread["Gid"] ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
        // Real, effective, saved: the patchbay user's. The file ids too, but
        // the capture thread's, which writes as its directory's owner (nobody).
        #expect(uids.count == 4 && uids.prefix(3).allSatisfy { $0 == user.uid }, "\(thread)")
        #expect(gids.count == 4 && gids.prefix(3).allSatisfy { $0 == user.gid }, "\(thread)")
        fileOwners.append("\(uids.last ?? ""):\(gids.last ?? "")")
        #expect(thread["Groups"] == "", "no supplementary group: \(thread)")
        #expect(thread["Seccomp"] == "2", "a system call filter: \(thread)")
        #expect(thread["NoNewPrivs"] == "1", "\(thread)")
        let effective = UInt64(thread["CapEff"] ?? "", radix: 16)
        let permitted = UInt64(thread["CapPrm"] ?? "", radix: 16)
        #expect(effective == permitted, "\(thread)")
        #expect(effective == 0 || effective == Self.netAdminAndRaw, "\(thread)")
      }
      let privileged = threads.filter { $0["CapEff"].flatMap { UInt64($0, radix: 16) } != 0 }
      let datapathThreads = try Self.datapathThreadCount(of: pid)
      #expect(datapathThreads >= 1)
      #expect(privileged.count == datapathThreads, "the datapath threads alone: \(privileged)")
      #expect(
        fileOwners.sorted()
          == (["65534:65534"]
          + Array(repeating: "\(user.uid):\(user.gid)", count: threads.count - 1))
          .sorted(),
        "one capture thread writes as nobody, the rest as patchbay: \(fileOwners)")
      // Not dumpable: the patchbay user's other processes cannot ptrace it.
      var info = stat()
      #expect(stat("/proc/\(pid)/mem", &info) == 0 && info.st_uid == 0, "/proc/PID is root's")

      // The lab still works under the filter: switching, the ring rotating in
      // nobody's directory, status, fdb, nat and set over the control socket.
      let ping = try Harness.exec(
        lab, "h1", "ping", "-c", "60", "-i", "0.01", "-s", "1000", "-q", "10.0.41.2")
      #expect(ping.status == 0, "\(ping.output)")
      let files = try FileManager.default.contentsOfDirectory(atPath: directory)
      #expect(files.count >= 2, "the ring rotated: \(files)")
      #expect(Harness.port("core/a", in: try Harness.status(lab))?["state"] as? String == "up")
      #expect(try Harness.fdb(lab).count == 2)
      let nat = try Harness.patchbay("nat", lab)
      #expect(nat.status == 0, "\(nat.errors)")
      #expect(nat.output == "lab \(lab) has no uplinks\n", "\(nat.output)")
      let set = try Harness.patchbay("set", lab, "core/a", "rate", "ingress=50mbit")
      #expect(set.output.hasPrefix("core/a: rate ingress 50mbit"), "\(set.errors)\(set.output)")
      let limit = Harness.port("core/a", in: try Harness.status(lab))?["rateLimit"] as? String
      #expect(limit?.hasPrefix("ingress 50mbit") == true, "\(limit ?? "none")")
      // A `patchbay capture` client streams, then goes away without a word.
      let stream = try CaptureTests.startCapture(
        ["core/a"], file: "\(directory)-stream.pcapng", lab: lab)
      defer { try? FileManager.default.removeItem(atPath: "\(directory)-stream.pcapng") }
      _ = try Harness.exec(lab, "h1", "ping", "-c", "2", "-i", "0.2", "-W", "1", "10.0.41.2")
      _ = stream.finish(signal: SIGKILL)
      usleep(300_000)
      #expect(try Harness.status(lab)["name"] as? String == lab, "the daemon still answers")
      // The daemon kept its threads' privileges as they were.
      #expect(try Self.threadStatus(of: pid).allSatisfy { $0["Seccomp"] == "2" })
      // And the filter refused nothing it did: each refusal is a kernel log line.
      let log = try Harness.run("/usr/bin/dmesg", [])
      if log.status == 0 {
        let refused = log.output.split(separator: "\n").filter {
          $0.contains("type=1326") && $0.contains(" pid=\(pid) ")
        }
        #expect(refused.isEmpty, "system calls the filter refused: \(refused)")
      }
    }
  }

  @Test func theJanitorRemovesWhatItWasHandedNotWhatTheFileSaysLater() throws {
    let lab = "e2pvjan"
    let decoyNamespace = "e2pv-decoy"
    let decoyLink = "e2pv-decoy0"
    let directory = try Self.nobodysDirectory()
    defer {
      try? FileManager.default.removeItem(atPath: directory)
      _ = try? Harness.ip("netns", "del", decoyNamespace)
      _ = try? Harness.ip("link", "del", decoyLink)
    }
    try Harness.withLab(Self.topology(lab, captureDirectory: directory), named: lab) { _ in
      // Decoys outside the lab, which a rewritten record names instead of the lab's own.
      _ = try? Harness.ip("netns", "del", decoyNamespace)
      _ = try? Harness.ip("link", "del", decoyLink)
      try #require(try Harness.ip("netns", "add", decoyNamespace).status == 0)
      try #require(
        try Harness.ip("link", "add", decoyLink, "type", "veth", "peer", "name", "e2pv-decoy1")
          .status == 0)
      let record = "/run/patchbay/\(lab)/resources.json"
      let forged = """
        {"hosts":[],"links":["\(decoyLink)"],"namespaces":["\(decoyNamespace)"],\
        "topologyFile":"","vmProcesses":{}}
        """
      try forged.write(toFile: record, atomically: true, encoding: .utf8)
      let text = try String(contentsOfFile: "/run/patchbay/\(lab)/pid", encoding: .utf8)
      let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
      kill(pid, SIGKILL)
      var left = Harness.leftovers(of: lab)
      for _ in 0..<50 where !left.isEmpty {
        usleep(100_000)
        left = Harness.leftovers(of: lab)
      }
      #expect(left.isEmpty, "the lab's own resources are gone: \(left)")
      #expect(
        FileManager.default.fileExists(atPath: "/run/netns/\(decoyNamespace)"),
        "the decoy namespace is intact")
      #expect(
        FileManager.default.fileExists(atPath: "/sys/class/net/\(decoyLink)"),
        "the decoy veth is intact")
    }
  }

  @Test func aCrashedDaemonLeavesNothingBehind() throws {
    let directory = try Self.nobodysDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try Harness.withLab(Self.topology("e2crash", captureDirectory: directory), named: "e2crash") {
      _ in
      let text = try String(contentsOfFile: "/run/patchbay/e2crash/pid", encoding: .utf8)
      let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
      #expect(Harness.leftovers(of: "e2crash").count >= 3, "namespaces, TAPs, state")
      kill(pid, SIGKILL)
      // The janitor sees its pipe close and removes namespaces, TAPs and state.
      var left = Harness.leftovers(of: "e2crash")
      for _ in 0..<50 where !left.isEmpty {
        usleep(100_000)
        left = Harness.leftovers(of: "e2crash")
      }
      #expect(left.isEmpty, "left after the daemon was killed: \(left)")
    }
  }

  @Test func theControlSocketAnswersRootOnly() throws {
    let directory = try Self.nobodysDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try Harness.withLab(Self.topology("e2sock", captureDirectory: directory), named: "e2sock") {
      _ in
      let socket = "/run/patchbay/e2sock/control.sock"
      var info = stat()
      #expect(stat(socket, &info) == 0)
      #expect(info.st_mode & 0o077 == 0, "only root can even connect")
      // Opened up by hand, the daemon still refuses anyone but root.
      // (/run/patchbay only for a moment, and only to pass through.)
      var parent = stat()
      #expect(stat("/run/patchbay", &parent) == 0)
      #expect(chmod("/run/patchbay", 0o711) == 0)
      defer { chmod("/run/patchbay", parent.st_mode & 0o7777) }
      #expect(chmod("/run/patchbay/e2sock", 0o711) == 0)
      #expect(chmod(socket, 0o666) == 0)
      let client = """
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.connect("\(socket)")
        try:
            s.sendall(b'{"command":"status"}')
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the daemon may answer and close before reading the request
        print(s.recv(4096).decode())
        """
      let answer = try Harness.run(
        "/usr/bin/setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", client])
      #expect(answer.status == 0, "\(answer.errors)\(answer.output)")
      #expect(answer.output.contains("only root may control a lab"), "\(answer.output)")
      #expect(!answer.output.contains("\"switches\""), "no status leaked: \(answer.output)")
      let cli = try Harness.run(
        "/usr/bin/setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", Harness.binary, "status", "e2sock"])
      #expect(cli.status != 0)
      #expect(cli.errors.hasPrefix("patchbay: error: "), "\(cli.errors)")
      #expect(cli.errors.contains("needs root"), "\(cli.errors)")
    }
  }
}
