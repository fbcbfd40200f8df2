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
      #expect(privileged.count == 1, "the datapath thread alone keeps them: \(threads)")

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
