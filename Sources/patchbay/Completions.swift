import PatchbayControl
import PatchbayLab

/// What the shells' TAB offers for the arguments that name something in a running lab.
///
/// ArgumentParser's generated scripts (`--generate-completion-script bash|zsh|fish`) call
/// the binary back with the command line typed so far; these functions answer. They run at
/// every TAB, often as a user who is not root, so they never throw, print nothing but the
/// candidates, and wait at most `timeout` for a daemon: a lab that does not answer (wedged,
/// stopped, or a socket only root may open) simply offers nothing.
enum Completions {
  /// Seconds one daemon may take to answer a completion's status request; well under the
  /// second after which a TAB feels broken.
  static let timeout = 0.5

  /// Options of any command that take a value, so their values are not read as positionals.
  private static let optionsWithValues: Set<String> = [
    "-w", "-f", "-s", "-c", "--ring", "--direction", "--switch", "--format",
  ]

  /// Running labs (a live daemon) whose names start with `prefix`. `/run/patchbay` is root's
  /// alone, so another user is offered none, and no error.
  @Sendable static func labs(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
    runningLabs().filter { $0.hasPrefix(prefix) }
  }

  /// The `SWITCH/PORT` names of the lab named earlier on the command line.
  @Sendable static func ports(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
    ports(of: status(ofLabIn: words, before: index), prefix)
  }

  private static func ports(of status: LabStatus?, _ prefix: String) -> [String] {
    (status?.switches ?? []).flatMap { $0.ports.map(\.name) }.filter { $0.hasPrefix(prefix) }
  }

  /// The namespace hosts of the lab named earlier on the command line.
  @Sendable static func hosts(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
    guard let status = status(ofLabIn: words, before: index) else { return [] }
    return status.hosts.map(\.name).filter { $0.hasPrefix(prefix) }
  }

  /// The VMs of the lab named earlier on the command line.
  @Sendable static func vms(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
    guard let status = status(ofLabIn: words, before: index) else { return [] }
    return status.vms.map(\.name).filter { $0.hasPrefix(prefix) }
  }

  /// The switches of the lab named earlier on the command line, or of the only running lab
  /// when none is (`fdb --switch`).
  @Sendable static func switches(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
    guard let status = status(ofLabIn: words, before: index, orTheOnlyLab: true) else {
      return []
    }
    return status.switches.map(\.name).filter { $0.hasPrefix(prefix) }
  }

  /// `capture [NAME] PORT...`: lab names first, while no lab was named, then the ports of
  /// the lab named (or of the only running one).
  @Sendable static func labThenPorts(_ words: [String], _ index: Int, _ prefix: String)
    -> [String]
  {
    let named = positionals(in: words, before: index).first.map(runningLabs().contains) ?? false
    let portNames = ports(of: status(ofLabIn: words, before: index, orTheOnlyLab: true), prefix)
    return named ? portNames : labs(words, index, prefix) + portNames
  }

  /// Labs whose daemon is alive: a state directory left by a crash is not offered.
  private static func runningLabs() -> [String] {
    LabPaths.knownLabs().filter { LabPaths(name: $0).runningPID != nil }
  }

  /// The status of the lab the command line names: its first positional argument when that
  /// is a running lab. `orTheOnlyLab` (the commands whose NAME is optional): with no
  /// positional, or a port (`SWITCH/PORT`) first, the only running lab. Nil when there is
  /// none, the name is not a running lab's, or the daemon does not answer within `timeout`.
  private static func status(
    ofLabIn words: [String], before index: Int, orTheOnlyLab: Bool = false
  ) -> LabStatus? {
    let running = runningLabs()
    let first = positionals(in: words, before: index).first
    let lab: String
    if let first, running.contains(first) {
      lab = first
    } else if orTheOnlyLab, first.map({ $0.contains("/") }) ?? true, running.count == 1 {
      lab = running[0]
    } else {
      return nil
    }
    let socket = LabPaths(name: lab).controlSocket
    guard let response = try? ControlClient.send(.status, to: socket, timeout: timeout) else {
      return nil
    }
    return response.status
  }

  /// The positional arguments after the subcommand (`words[1]`) and before the word being
  /// completed: options, their values and everything after `--` left out.
  static func positionals(in words: [String], before index: Int) -> [String] {
    var found: [String] = []
    var skipsValue = false
    for word in words.prefix(max(0, min(index, words.count))).dropFirst(2) {
      if skipsValue {
        skipsValue = false
      } else if word == "--" {
        break
      } else if word.hasPrefix("-") {
        skipsValue = optionsWithValues.contains(word)
      } else {
        found.append(word)
      }
    }
    return found
  }
}
