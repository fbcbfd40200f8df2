import ArgumentParser
import Foundation
import PatchbayLab

/// `patchbay console NAME VM [--interactive] [--no-follow]`.
struct ConsoleCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "console",
    abstract: "Follow a VM's serial console (like tail -f), or type into it with -i.",
    discussion: """
      The console is logged to /run/patchbay/NAME/VM.console from the VM's start (at most the \
      topology's log-cap, 16 MiB by default; the part before is in VM.console.1). Without \
      options this prints it and follows new output until the lab stops or Ctrl-C. With \
      --interactive it connects to the console itself: what you type reaches the guest; \
      Ctrl-] leaves.
      """)

  @Argument(help: "The lab's name.", completion: .custom(Completions.labs))
  var lab: String

  @Argument(help: "The VM's name.", completion: .custom(Completions.vms))
  var vm: String

  @Flag(name: [.short, .long], help: "Type into the console (Ctrl-] leaves).")
  var interactive = false

  @Flag(name: .customLong("no-follow"), help: "Print what the console logged so far and exit.")
  var noFollow = false

  func run() throws {
    try requireRoot("patchbay console")
    let lab = try LabName.resolve(self.lab)
    let paths = LabPaths(name: lab)
    guard paths.runningPID != nil else { throw PatchbayError("lab \(lab) is not running") }
    let vms = (LabResources.load(paths)?.vmProcesses.keys).map { $0.sorted() } ?? []
    guard vms.contains(vm) else {
      let known = vms.isEmpty ? "it has none" : "vms: \(vms.joined(separator: ", "))"
      throw PatchbayError("lab \(lab) has no vm '\(vm)' (\(known))")
    }
    if interactive {
      try attach(to: paths.consoleSocket(ofVM: vm))
    } else {
      try follow(paths.console(ofVM: vm), paths: paths)
    }
  }

  /// Prints the log and, unless `--no-follow`, what is appended to it, until
  /// the lab stops (its state directory and the log go with it).
  private func follow(_ path: String, paths: LabPaths) throws {
    let file = open(path, O_RDONLY | O_CLOEXEC)
    guard file >= 0 else {
      throw PatchbayError("cannot open \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(file) }
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = read(file, &buffer, buffer.count)
      if count > 0 {
        guard writeAll(1, buffer[..<count]) else { return }
        continue
      }
      if noFollow || paths.runningPID == nil { return }
      // The log is capped: when full, the daemon moves it to VM.console.1 and
      // empties it in place. A file shorter than what was read is a new start.
      var now = stat()
      if fstat(file, &now) == 0, now.st_size < lseek(file, 0, SEEK_CUR) {
        lseek(file, 0, SEEK_SET)
        continue
      }
      usleep(100_000)
    }
  }

  /// Relays the terminal to the console socket and back, the terminal in raw
  /// mode, until Ctrl-] or the VM's end.
  private func attach(to socketPath: String) throws {
    let connection = try ClientConnections.connect(toConsole: socketPath)
    defer { close(connection) }
    var saved = termios()
    let isTerminal = isatty(0) == 1 && tcgetattr(0, &saved) == 0
    if isTerminal {
      var raw = saved
      cfmakeraw(&raw)
      tcsetattr(0, TCSANOW, &raw)
      FileHandle.standardError.write(Data("connected to \(vm)'s console; Ctrl-] leaves\r\n".utf8))
    }
    defer { if isTerminal { tcsetattr(0, TCSANOW, &saved) } }
    var descriptors = [
      pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
      pollfd(fd: connection, events: Int16(POLLIN), revents: 0),
    ]
    var buffer = [UInt8](repeating: 0, count: 4096)
    while poll(&descriptors, 2, -1) >= 0 || errno == EINTR {
      if descriptors[0].revents != 0 {
        let count = read(0, &buffer, buffer.count)
        guard count > 0 else { return }
        // Ctrl-] (0x1d), as telnet taught everyone.
        if isTerminal, let escape = buffer[..<count].firstIndex(of: 0x1d) {
          _ = writeAll(connection, buffer[..<escape])
          return
        }
        guard writeAll(connection, buffer[..<count]) else { return }
      }
      if descriptors[1].revents != 0 {
        let count = read(connection, &buffer, buffer.count)
        guard count > 0, writeAll(1, buffer[..<count]) else { return }
      }
    }
  }

  /// Writes all of `bytes` to `descriptor`; false when it cannot (the reader left).
  private func writeAll(_ descriptor: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
    var rest = bytes
    while !rest.isEmpty {
      let written = rest.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
      if written < 0 && errno == EINTR { continue }
      guard written > 0 else { return false }
      rest = rest.dropFirst(written)
    }
    return true
  }
}
