import ArgumentParser
import Foundation
import Logging
import PatchbayLab
import PatchbayTopology

/// `patchbay up FILE [--detach] [--log-level LEVEL] [--log-format text|json]`.
struct UpCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "up",
    abstract: "Build a lab and switch frames until SIGINT/SIGTERM, then remove everything.")

  @Argument(help: "The topology file.", completion: .file(extensions: ["yaml", "yml"]))
  var file: String

  @Flag(help: "Return once the lab is ready and keep the daemon running.")
  var detach = false

  @Option(
    help: ArgumentHelp(
      "The least important messages the daemon logs.",
      valueName: "level"))
  var logLevel: LogLevelArgument = .init(.info)

  @Option(
    help: ArgumentHelp(
      "How log lines look (json: one object a line, for log collectors).",
      valueName: "format"))
  var logFormat: LogFormatArgument = .init(.text)

  @Flag(name: .customLong("daemon-child"), help: .hidden)
  var daemonChild = false

  func run() throws {
    let topology = try TopologyFile.load(file)
    try requireRoot("patchbay up")
    let absolute = URL(fileURLWithPath: file).standardizedFileURL.path
    if detach && !daemonChild {
      try startDetached(topologyFile: absolute, name: topology.name)
    } else {
      // The log is standard error: in the foreground the terminal's, detached
      // the lab's daemon.log once the lab is ready (held until then).
      let output = LogOutput(descriptor: 2, holding: daemonChild)
      var logger = Logger.patchbay(
        level: logLevel.level, format: logFormat.format, output: output)
      logger[metadataKey: "lab"] = .string(topology.name)
      // Made while root: it asks whether this machine has KVM (/dev/kvm is root's).
      try LabDaemon.run(
        topology: topology, topologyFile: absolute, detached: daemonChild,
        summary: LabSummary.ready(topology, detached: daemonChild), logger: logger,
        logOutput: output)
    }
  }

  /// Runs the daemon as a child in its own session and waits until it says the
  /// lab is ready (exit 0) or fails (its error, exit 1).
  private func startDetached(topologyFile: String, name: String) throws {
    let executable =
      (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
      ?? CommandLine.arguments[0]
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = [
      "up", topologyFile, "--detach", "--daemon-child", "--log-level", "\(logLevel.level)",
      "--log-format", logFormat.format.rawValue,
    ]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch {
      throw PatchbayError("cannot start the lab daemon: \(error.localizedDescription)")
    }
    // The child closes its end of the pipe when it moves its output to the log
    // (ready) or when it exits (failed), so reading to EOF waits for either.
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let text = String(decoding: data, as: UTF8.self)
    if text.contains(LabDaemon.readyMarker) {
      print(text.replacingOccurrences(of: LabDaemon.readyMarker + "\n", with: ""), terminator: "")
      return
    }
    process.waitUntilExit()
    let lines = text.split(whereSeparator: \.isNewline)
    for line in lines { printError(String(line)) }
    if lines.isEmpty {
      printError("patchbay: error: the lab daemon exited with status \(process.terminationStatus)")
    }
    throw ExitCode(1)
  }
}
