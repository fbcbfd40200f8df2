import Foundation
import Testing

/// Drives the real `patchbay` binary, real TAPs and real namespaces.
///
/// Every lab a test makes is torn down by `withLab`, whatever happens inside,
/// and anything that survives `patchbay down` (a namespace, an interface, a
/// state directory) is removed by force and reported as a failure.
enum Harness {
  /// True when this process may create TAPs and namespaces. Without it the
  /// end-to-end suites skip, and say so loudly on stderr.
  static let canRunLabs: Bool = {
    let isRoot = geteuid() == 0
    let hasTun = FileManager.default.fileExists(atPath: "/dev/net/tun")
    if !isRoot || !hasTun {
      FileHandle.standardError.write(
        Data(
          """
          ******************************************************************
          * WARNING: end-to-end tests SKIPPED: they need root (CAP_NET_ADMIN)
          * and /dev/net/tun. Run them with: sudo ./Scripts/test
          ******************************************************************

          """.utf8))
    }
    return isRoot && hasTun
  }()

  /// The binary under test: $PATCHBAY_BINARY, or the debug build next to the tests.
  static let binary: String = {
    if let path = ProcessInfo.processInfo.environment["PATCHBAY_BINARY"] { return path }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/patchbay").path
  }()

  /// The result of running a command.
  struct Result {
    var status: Int32
    var output: String
    var errors: String
  }

  /// Runs `executable` with `arguments`, waits at most `timeout` seconds (then kills it).
  @discardableResult
  static func run(_ executable: String, _ arguments: [String], timeout: Double = 60) throws
    -> Result
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
      outData = output.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
      errData = errors.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
    }
    process.waitUntilExit()
    group.wait()
    return Result(
      status: process.terminationStatus, output: String(decoding: outData, as: UTF8.self),
      errors: String(decoding: errData, as: UTF8.self))
  }

  /// Runs `patchbay ARGUMENTS...`.
  @discardableResult
  static func patchbay(_ arguments: String..., timeout: Double = 60) throws -> Result {
    try run(binary, arguments, timeout: timeout)
  }

  /// Runs `ip ARGUMENTS...`.
  @discardableResult
  static func ip(_ arguments: String...) throws -> Result {
    try run("/usr/sbin/ip", arguments)
  }

  /// Writes `yaml` to a fresh temporary file and returns its path.
  static func topologyFile(_ yaml: String, name: String = "lab") throws -> String {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-e2e-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let file = directory.appendingPathComponent("\(name).yaml")
    try yaml.write(to: file, atomically: true, encoding: .utf8)
    return file.path
  }

  /// Namespaces whose name starts with `LAB-`.
  static func namespaces(of lab: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? [])
      .filter { $0.hasPrefix("\(lab)-") }.sorted()
  }

  /// Interfaces in this namespace whose name starts with `LAB-`.
  static func interfaces(of lab: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? [])
      .filter { $0.hasPrefix("\(lab)-") }.sorted()
  }

  /// Processes whose command line names the lab's state directory: its VMs' QEMUs.
  static func qemuProcesses(of lab: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
      guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
        return false
      }
      let command = String(decoding: data, as: UTF8.self)
      return command.contains("qemu-system") && command.contains("/run/patchbay/\(lab)/")
    }
  }

  /// Everything of lab `name` still present: QEMU processes, namespaces,
  /// interfaces, the state directory.
  static func leftovers(of lab: String) -> [String] {
    var found = qemuProcesses(of: lab).map { "QEMU pid \($0)" }
    found += namespaces(of: lab).map { "namespace \($0)" }
    found += interfaces(of: lab).map { "interface \($0)" }
    if FileManager.default.fileExists(atPath: "/run/patchbay/\(lab)") {
      found.append("/run/patchbay/\(lab)")
    }
    return found
  }

  /// Removes by force whatever of lab `name` is left.
  static func forceClean(_ lab: String) {
    if let text = try? String(contentsOfFile: "/run/patchbay/\(lab)/pid", encoding: .utf8),
      let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    {
      kill(pid, SIGKILL)
    }
    for pid in qemuProcesses(of: lab) { kill(pid, SIGKILL) }
    for namespace in namespaces(of: lab) { _ = try? ip("netns", "del", namespace) }
    for interface in interfaces(of: lab) { _ = try? ip("link", "del", interface) }
    try? FileManager.default.removeItem(atPath: "/run/patchbay/\(lab)")
    try? FileManager.default.removeItem(atPath: "/run/patchbay/\(lab).lock")
  }

  /// Brings up `yaml` detached, runs `body`, and always takes the lab down,
  /// failing the test if anything of it survives `patchbay down`.
  ///
  /// Suites run in parallel. A test that measures throughput or rates, or
  /// loads the machine on purpose, passes `exclusive: true` and runs with no
  /// other lab test beside it (two cores are easily starved); the others
  /// share the machine.
  static func withLab(
    _ yaml: String, named lab: String, exclusive: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: (String) throws -> Void
  ) throws {
    try (exclusive ? LabGate.shared.exclusive : LabGate.shared.sharing) {
      try withLabUngated(yaml, named: lab, sourceLocation: sourceLocation, body)
    }
  }

  private static func withLabUngated(
    _ yaml: String, named lab: String, sourceLocation: SourceLocation,
    _ body: (String) throws -> Void
  ) throws {
    forceClean(lab)
    let file = try topologyFile(yaml, name: lab)
    let up = try patchbay("up", file, "--detach")
    try #require(up.status == 0, "up failed: \(up.errors)", sourceLocation: sourceLocation)
    defer {
      let down = try? patchbay("down", lab)
      #expect(
        down?.status == 0, "down failed: \(down?.errors ?? "")", sourceLocation: sourceLocation)
      let left = leftovers(of: lab)
      #expect(left.isEmpty, "left behind after down: \(left)", sourceLocation: sourceLocation)
      forceClean(lab)
    }
    try body(file)
  }

  /// Runs CMD in host `host` of lab `lab` through `patchbay exec`.
  @discardableResult
  static func exec(_ lab: String, _ host: String, _ command: String..., timeout: Double = 30)
    throws -> Result
  {
    try run(binary, ["exec", lab, host, "--"] + command, timeout: timeout)
  }

  /// Decodes `patchbay status LAB --json`.
  static func status(_ lab: String) throws -> [String: Any] {
    let result = try patchbay("status", lab, "--json")
    try #require(result.status == 0, "status failed: \(result.errors)")
    return try #require(
      JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
  }

  /// The port named `name` (`SWITCH/PORT`) in a decoded status.
  static func port(_ name: String, in status: [String: Any]) -> [String: Any]? {
    let switches = status["switches"] as? [[String: Any]] ?? []
    return switches.flatMap { $0["ports"] as? [[String: Any]] ?? [] }
      .first { $0["name"] as? String == name }
  }

  /// Decodes `patchbay fdb LAB --json`.
  static func fdb(_ lab: String) throws -> [[String: Any]] {
    let result = try patchbay("fdb", lab, "--json")
    try #require(result.status == 0, "fdb failed: \(result.errors)")
    return try #require(
      JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]])
  }

  /// Three hosts, 10.0.0.1–3, on one switch.
  static func threeHosts(_ lab: String) -> String {
    """
    name: \(lab)
    switches:
      core:
        ports:
          h1: {}
          h2: {}
          h3: {}
    hosts:
      h1: {port: core/h1, address: 10.0.0.1/24}
      h2: {port: core/h2, address: 10.0.0.2/24}
      h3: {port: core/h3, address: 10.0.0.3/24}
    """
  }
}

/// A readers-writer gate over the machine for end-to-end tests: any number
/// share it, or one has it alone. A waiting exclusive test stops new sharers,
/// so it is never starved.
final class LabGate: @unchecked Sendable {
  // Sendable: every field is touched only with `condition` locked.
  static let shared = LabGate()
  private let condition = NSCondition()
  private var sharers = 0
  private var isExclusive = false
  private var waitingExclusive = 0

  /// Runs `body` beside other sharers. Reentrant on one thread (a lab test
  /// inside another): a nested share must not wait behind an exclusive test
  /// that is itself waiting for the outer share to end.
  func sharing(_ body: () throws -> Void) rethrows {
    let key = "PatchbayLabGateShares"
    let held = Thread.current.threadDictionary[key] as? Int ?? 0
    Thread.current.threadDictionary[key] = held + 1
    defer { Thread.current.threadDictionary[key] = held }
    if held > 0 {
      try body()
      return
    }
    condition.lock()
    while isExclusive || waitingExclusive > 0 { condition.wait() }
    sharers += 1
    condition.unlock()
    defer {
      condition.lock()
      sharers -= 1
      condition.broadcast()
      condition.unlock()
    }
    try body()
  }

  /// Runs `body` with nobody else.
  func exclusive(_ body: () throws -> Void) rethrows {
    condition.lock()
    waitingExclusive += 1
    while isExclusive || sharers > 0 { condition.wait() }
    waitingExclusive -= 1
    isExclusive = true
    condition.unlock()
    defer {
      condition.lock()
      isExclusive = false
      condition.broadcast()
      condition.unlock()
    }
    try body()
  }
}
