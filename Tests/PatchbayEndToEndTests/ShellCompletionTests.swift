import Foundation
import Testing

/// Shell completion: the scripts ArgumentParser generates load in bash, zsh and fish, and
/// bash's TAB, driven as bash-completion drives it, offers a running lab's names.
@Suite struct ShellCompletionTests {
  static let shellsInstalled = ["/usr/bin/bash", "/usr/bin/zsh", "/usr/bin/fish"].allSatisfy {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  /// `patchbay --generate-completion-script SHELL`, written to a fresh file.
  static func script(for shell: String) throws -> String {
    let result = try Harness.patchbay("--generate-completion-script", shell)
    try #require(result.status == 0, "\(shell): \(result.errors)")
    #expect(result.errors.isEmpty)
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-completion-\(UUID().uuidString).\(shell)").path
    try result.output.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  @Test(
    .enabled(if: shellsInstalled, "needs bash, zsh and fish: sudo ./Scripts/test installs them"))
  func everyShellsScriptParsesAndCallsBackForPorts() throws {
    for shell in ["bash", "zsh", "fish"] {
      let path = try Self.script(for: shell)
      defer { try? FileManager.default.removeItem(atPath: path) }
      let text = try String(contentsOfFile: path, encoding: .utf8)
      // `set NAME SWITCH/PORT`: the port (positional 1) is asked of the binary at each TAB.
      #expect(text.contains("---completion set -- positional@1"), "\(shell)")
      let check = try Harness.run("/usr/bin/\(shell)", ["-n", path])
      #expect(check.status == 0, "\(shell) -n: \(check.errors)")
      #expect(check.errors.isEmpty, "\(shell) -n: \(check.errors)")
    }
  }

  /// Sources the bash script and calls its function as bash-completion would for the words
  /// typed (the last one being completed), printing COMPREPLY one per line; the first line
  /// is what `complete -p patchbay` says.
  static let driver = """
    source "$1"; shift
    complete -p patchbay
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _patchbay patchbay "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\\n' "${COMPREPLY[@]}"
    """

  /// The candidates bash offers after `patchbay WORDS...` with `binary` as the program,
  /// run by `user` (root when nil), and how long the TAB took.
  static func complete(
    _ words: [String], script: String, binary: String = Harness.binary, user: UInt32? = nil
  ) throws -> (candidates: [String], registration: String, errors: String, seconds: Double) {
    let start = Date()
    let arguments = ["-c", driver, "bash", script, binary] + words
    let result =
      if let user {
        try Harness.run(
          "/usr/bin/setpriv",
          ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", "/usr/bin/bash"] + arguments)
      } else {
        try Harness.run("/usr/bin/bash", arguments)
      }
    let seconds = Date().timeIntervalSince(start)
    #expect(result.status == 0, "\(words): \(result.errors)")
    var lines = result.output.split(separator: "\n").map(String.init)
    let registration = lines.isEmpty ? "" : lines.removeFirst()
    return (lines, registration, result.errors, seconds)
  }

  static func lab(_ name: String) -> String {
    """
    name: \(name)
    switches:
      core:
        ports:
          h1: {}
          h2: {}
      edge:
        ports:
          p1: {}
    hosts:
      h1: {port: core/h1, address: 10.0.0.1/24}
      h2: {port: core/h2, address: 10.0.0.2/24}
    """
  }

  @Test(.enabled(if: Harness.canRunLabs && shellsInstalled))
  func bashCompletesARunningLabsNamePortsHostsAndSwitches() throws {
    let script = try Self.script(for: "bash")
    defer { try? FileManager.default.removeItem(atPath: script) }
    try Harness.withLab(Self.lab("e2cmp"), named: "e2cmp") { _ in
      let ports = try Self.complete(["set", "e2cmp", ""], script: script)
      #expect(ports.registration == "complete -o filenames -F _patchbay patchbay")
      #expect(ports.candidates.sorted() == ["core/h1", "core/h2", "edge/p1"])
      #expect(ports.errors.isEmpty)
      #expect(ports.seconds < 1, "a TAB took \(ports.seconds) s")

      #expect(
        try Self.complete(["set", "e2cmp", "core/h"], script: script).candidates.sorted() == [
          "core/h1", "core/h2",
        ])
      #expect(
        try Self.complete(["set", "e2cmp", "edge/p1", ""], script: script).candidates == ["rate"])
      #expect(
        try Self.complete(["exec", "e2cmp", ""], script: script).candidates.sorted() == [
          "h1", "h2",
        ])
      #expect(
        try Self.complete(["fdb", "e2cmp", "--switch", ""], script: script).candidates.sorted() == [
          "core", "edge",
        ])
      #expect(
        try Self.complete(["capture", "e2cmp", "e"], script: script).candidates == ["edge/p1"])
      // Lab names: other helpers' e2 labs may run beside this one; this one is offered.
      let names = try Self.complete(["status", "e2cm"], script: script).candidates
      #expect(names.contains("e2cmp"), "\(names)")
      #expect(names.allSatisfy { $0.hasPrefix("e2cm") }, "\(names)")
      #expect(try Self.complete(["down", "e2cmp"], script: script).candidates.contains("e2cmp"))
      // A lab with no VMs offers none; an unknown lab offers nothing and says nothing.
      #expect(try Self.complete(["console", "e2cmp", ""], script: script).candidates.isEmpty)
      let unknown = try Self.complete(["set", "e2nolab", ""], script: script)
      #expect(unknown.candidates.isEmpty && unknown.errors.isEmpty)
    }
  }

  /// Completion as another user (who may not open the lab's socket) and against a daemon
  /// that does not answer: no candidates, no error on the terminal, and no hanging TAB.
  @Test(.enabled(if: Harness.canRunLabs && shellsInstalled))
  func bashCompletionStaysQuietAndQuickWithoutRootOrAnAnsweringDaemon() throws {
    let script = try Self.script(for: "bash")
    // A copy of the binary and script that user 65534 can reach whatever the checkout's modes.
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-completion-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer {
      try? FileManager.default.removeItem(atPath: folder)
      try? FileManager.default.removeItem(atPath: script)
    }
    let binary = folder + "/patchbay"
    try FileManager.default.copyItem(atPath: Harness.binary, toPath: binary)
    try FileManager.default.copyItem(atPath: script, toPath: folder + "/patchbay.bash")
    #expect(chmod(folder, 0o755) == 0 && chmod(binary, 0o755) == 0)
    #expect(chmod(folder + "/patchbay.bash", 0o644) == 0)
    try Harness.withLab(Self.lab("e2cmpq"), named: "e2cmpq") { _ in
      for words in [["set", "e2cmpq", ""], ["status", ""], ["exec", "e2cmpq", ""]] {
        let asNobody = try Self.complete(
          words, script: folder + "/patchbay.bash", binary: binary, user: 65534)
        #expect(asNobody.candidates.isEmpty, "\(words): \(asNobody.candidates)")
        #expect(asNobody.errors.isEmpty, "\(words): \(asNobody.errors)")
      }
      let pidText = try String(contentsOfFile: "/run/patchbay/e2cmpq/pid", encoding: .utf8)
      let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
      #expect(kill(pid, SIGSTOP) == 0)
      defer { kill(pid, SIGCONT) }
      let wedged = try Self.complete(["set", "e2cmpq", ""], script: script)
      #expect(wedged.candidates.isEmpty)
      #expect(wedged.errors.isEmpty, "\(wedged.errors)")
      #expect(wedged.seconds < 1.5, "a TAB at a stopped daemon took \(wedged.seconds) s")
    }
  }
}
