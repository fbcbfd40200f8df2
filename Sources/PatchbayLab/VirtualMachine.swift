import CLinuxNet
import Foundation
import Glibc
import Logging
import Synchronization

/// What became of a VM's QEMU, as `status` shows it.
public struct VMState: Sendable, Equatable {
  /// The phase of its life.
  public enum Phase: String, Sendable {
    /// QEMU runs.
    case running
    /// `down` pressed the power button and waits for QEMU to end.
    case stopping
    /// QEMU ended while the lab was running: the guest powered off, or QEMU crashed or was killed.
    case exited
    /// QEMU ended because the lab stopped it.
    case stopped
  }

  /// The phase.
  public var phase: Phase
  /// QEMU's pid.
  public var pid: Int32
  /// Its exit status, once it exited normally.
  public var exitStatus: Int32?
  /// The signal that ended it, once one did.
  public var signal: Int32?

  /// `running`, `exited (status 1)`, `exited (signal 9)`.
  public var summary: String {
    var text = phase.rawValue
    if let exitStatus { text += " (status \(exitStatus))" }
    if let signal { text += " (signal \(signal))" }
    return text
  }
}

/// One VM's QEMU process: started, watched until it ends, powered down.
///
/// A thread per VM waits for its QEMU (labs have a handful of VMs) so that a
/// guest that powers off or a QEMU that crashes is noticed at once, and hands
/// the news to `onExit` unless the lab itself is stopping it.
final class VirtualMachine: @unchecked Sendable {
  // Sendable: the lets never change; `state` is behind a Mutex.

  let name: String
  /// The global datapath indices of its vNICs' ports.
  let ports: [Int]
  let invocation: QEMUInvocation
  let stopTimeout: Duration
  private let paths: LabPaths
  private let state: Mutex<VMState>
  // The monitor connection opened at start and kept for the power button:
  // once the daemon runs as the service user, it can no longer reach the
  // socket in the root-only state directory. -1 once used (or never opened).
  private let monitor = Mutex<Int32>(-1)
  /// Copies QEMU's console log into `VM.console`, capped.
  let console: LogPump
  /// Copies what QEMU itself prints into `VM.log`, capped: a guest can make
  /// QEMU report errors (a bad virtio request) as often as it likes.
  let messages: LogPump

  private init(
    name: String, ports: [Int], invocation: QEMUInvocation, stopTimeout: Duration,
    paths: LabPaths, pid: Int32, console: LogPump, messages: LogPump
  ) {
    self.console = console
    self.messages = messages
    self.name = name
    self.ports = ports
    self.invocation = invocation
    self.stopTimeout = stopTimeout
    self.paths = paths
    self.state = Mutex(VMState(phase: .running, pid: pid))
  }

  /// How long `start` waits for QEMU to open its monitor socket.
  static let startTimeout: TimeInterval = 15

  /// Where QEMU writes the console log: its standard output, which is the
  /// write end of the pipe that `start` hands it.
  static let consoleOutput = "/dev/fd/1"

  /// Starts QEMU (in its own process group, so a terminal's Ctrl-C reaches
  /// only the daemon, which then powers the VM down) and waits until its
  /// monitor answers. Throws QEMU's own last words when it ends first.
  /// QEMU's standard output is a pipe into `VM.console`, capped at
  /// `consoleCap` bytes (`invocation` logs the console to `consoleOutput`);
  /// its standard error is a pipe into `VM.log`, capped alike. Once QEMU is
  /// ready its sockets are opened to `owner`'s group (the user QEMU now runs as).
  static func start(
    name: String, ports: [Int], invocation: QEMUInvocation, stopTimeout: Duration,
    paths: LabPaths, consoleCap: Int, owner: ServiceUser?, logger: Logger = .silent,
    recordPID: (Int32) throws(LabError) -> Void,
    onExit: @escaping @Sendable (VirtualMachine, VMState) -> Void
  ) throws(LabError) -> VirtualMachine {
    let console: LogPump
    let messages: LogPump
    do {
      console = try LogPump(
        log: try CappedLog(path: paths.console(ofVM: name), cap: consoleCap),
        label: "vm \(name)'s console", logger: logger)
      messages = try LogPump(
        log: try CappedLog(path: paths.qemuLog(ofVM: name), cap: consoleCap),
        label: "vm \(name)'s QEMU", logger: logger)
    } catch {
      throw LabError("vm \(name): \(error.description)")
    }
    let pid = withArgumentVector([invocation.executable] + invocation.arguments) {
      pb_spawn_io($0, -1, console.writeEnd, messages.writeEnd)
    }
    // QEMU holds the only write ends now: the pumps end when QEMU does.
    console.closeWriteEnd()
    messages.closeWriteEnd()
    guard pid > 0 else {
      throw LabError(
        "vm \(name): cannot start \(invocation.executable): \(String(cString: strerror(-pid)))")
    }
    let machine = VirtualMachine(
      name: name, ports: ports, invocation: invocation, stopTimeout: stopTimeout, paths: paths,
      pid: pid, console: console, messages: messages)
    do {
      try recordPID(pid)
      try machine.waitUntilReady()
      if let owner {
        // QEMU made its sockets as root, before it dropped to `owner`. Root
        // keeps them, `owner`'s group may connect too: a daemon that dropped
        // its capabilities (still uid 0) or became `owner` can press the button.
        for socket in [paths.monitorSocket(ofVM: name), paths.consoleSocket(ofVM: name)] {
          lchown(socket, uid_t.max, owner.gid)
          chmod(socket, 0o660)
        }
      }
    } catch {
      kill(pid, SIGKILL)
      var status: Int32 = 0
      while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
      throw error
    }
    machine.watch(onExit: onExit)
    return machine
  }

  /// The VM's state now.
  var current: VMState { state.withLock { $0 } }

  /// Waits until QEMU's monitor greets: QEMU opens the socket while it reads
  /// its options but greets only from its main loop, once the machine is
  /// built and the kernel loaded. A fifth of a second more catches a CPU that
  /// fails on its first run. QEMU ending first is an error carrying the last
  /// line it printed.
  private func waitUntilReady() throws(LabError) {
    let pid = current.pid
    let deadline = Date().addingTimeInterval(Self.startTimeout)
    var greeted: Date?
    while Date() < deadline {
      var status: Int32 = 0
      if waitpid(pid, &status, WNOHANG) == pid {
        throw LabError("vm \(name): QEMU exited at start: \(lastWords())")
      }
      if let greeted {
        if Date().timeIntervalSince(greeted) > 0.2 { return }
      } else if let connection = monitorConnection() {
        // Kept: before capabilities are negotiated QMP sends no events, so
        // nothing piles up in it until the power button is pressed.
        if readUntil(connection, count: 1, of: "\"QMP\"") {
          greeted = Date()
          monitor.withLock { $0 = connection }
        } else {
          close(connection)
        }
      }
      usleep(20_000)
    }
    throw LabError("vm \(name): QEMU did not open its monitor within \(Int(Self.startTimeout)) s")
  }

  /// The last non-empty line QEMU printed, without its `qemu-system-x86_64: ` prefix.
  private func lastWords() -> String {
    messages.drain()
    let text = (try? String(contentsOfFile: paths.qemuLog(ofVM: name), encoding: .utf8)) ?? ""
    let line =
      text.split(whereSeparator: \.isNewline).last { !$0.allSatisfy(\.isWhitespace) }
      .map(String.init) ?? "no message (see \(paths.qemuLog(ofVM: name)))"
    let prefix = URL(fileURLWithPath: invocation.executable).lastPathComponent + ": "
    return line.hasPrefix(prefix) ? String(line.dropFirst(prefix.count)) : line
  }

  /// Starts the thread that reaps QEMU. It holds no capability: it only waits
  /// and reports. `watch` returns once the thread has dropped them, so the
  /// daemon's check of every thread's capabilities never sees it privileged.
  private func watch(onExit: @escaping @Sendable (VirtualMachine, VMState) -> Void) {
    let restricted = DispatchSemaphore(value: 0)
    let thread = Thread { [self] in
      if Privileges.isPrivileged { try? Privileges.restrictThisThread(to: Privileges.none) }
      restricted.signal()
      let pid = current.pid
      var status: Int32 = 0
      while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
      let ended = state.withLock { state in
        state.phase = state.phase == .stopping ? .stopped : .exited
        // WIFEXITED / WIFSIGNALED, spelled out: Glibc's macros do not import.
        if status & 0x7f == 0 {
          state.exitStatus = (status >> 8) & 0xff
        } else {
          state.signal = status & 0x7f
        }
        return state
      }
      onExit(self, ended)
    }
    thread.name = "patchbay-vm"
    thread.start()
    restricted.wait()
  }

  /// Presses the ACPI power button through QMP; false when QEMU did not take
  /// the command (it is gone, or its monitor is stuck). Marks the VM stopping.
  @discardableResult
  func pressPowerButton() -> Bool {
    guard markStopping() else { return false }
    // QMP greets first (the kept connection was greeted at start), takes
    // commands only after capabilities are negotiated, and answers each
    // command in order with a "return" (or "error").
    let kept = monitor.withLock { connection in
      defer { connection = -1 }
      return connection
    }
    let connection: Int32
    if kept >= 0 {
      connection = kept
    } else {
      guard let fresh = monitorConnection() else { return false }
      connection = fresh
    }
    defer { close(connection) }
    guard kept >= 0 || readUntil(connection, count: 1, of: "\"QMP\"") else { return false }
    let commands =
      "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"system_powerdown\"}\n"
    let sent = commands.utf8CString.withUnsafeBufferPointer {
      write(connection, $0.baseAddress, $0.count - 1)
    }
    guard sent == commands.utf8.count else { return false }
    return readUntil(connection, count: 2, of: "\"return\"")
  }

  /// A connection to QEMU's monitor whose reads give up after two seconds.
  private func monitorConnection() -> Int32? {
    let connection = pb_unix_connect(paths.monitorSocket(ofVM: name))
    guard connection >= 0 else { return nil }
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(
      connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return connection
  }

  /// Marks a running VM as being stopped by the lab (its end is then
  /// `stopped`, not `exited`); false when it was not running.
  @discardableResult
  func markStopping() -> Bool {
    state.withLock { state in
      guard state.phase == .running else { return false }
      state.phase = .stopping
      return true
    }
  }

  /// Reads from `connection` until `marker` was seen `count` times, or it
  /// closes or times out.
  private func readUntil(_ connection: Int32, count: Int, of marker: String) -> Bool {
    var text = ""
    var buffer = [UInt8](repeating: 0, count: 4096)
    while text.components(separatedBy: marker).count - 1 < count {
      let length = read(connection, &buffer, buffer.count)
      guard length > 0 else { return false }
      text += String(decoding: buffer[..<length], as: UTF8.self)
    }
    return true
  }

  /// Sends QEMU `signal` if it still runs; false when the daemon may not
  /// signal it. QEMU and the daemon both run as the service user after
  /// set-up, so this fails only for a daemon run without that drop; the
  /// janitor, which runs as root, ends such a QEMU then.
  @discardableResult
  func send(_ signal: Int32) -> Bool {
    let (pid, isAlive) = state.withLock { ($0.pid, $0.phase == .running || $0.phase == .stopping) }
    guard isAlive else { return true }
    return kill(pid, signal) == 0 || errno != EPERM
  }

  /// True once QEMU has ended and been reaped.
  var hasEnded: Bool { state.withLock { $0.phase == .exited || $0.phase == .stopped } }
}
