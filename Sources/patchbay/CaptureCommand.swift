import ArgumentParser
import Foundation
import PatchbayControl
import PatchbayDatapath
import PatchbayLab
import PatchbayTopology

/// `patchbay capture [NAME] PORT... [-w FILE|-] [-f FILTER] [-s SNAPLEN] [-c COUNT]
/// [--ring N:SIZE] [--direction in|out|both]`.
struct CaptureCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "capture",
    abstract: "Capture ports of a running lab into one pcapng (one interface per port).",
    discussion: """
      patchbay capture lab1 core/vm1 core/vm2 -w web.pcapng -f 'tcp port 80'
      patchbay capture lab1 core/vm1 -w - | wireshark -k -i -
      patchbay capture lab1 core/vm1 -w ring.pcapng --ring 4:16MiB

      Ctrl-C ends it with a summary: captured, filtered out, lost (reader too slow).
      Without -w, prints one line per frame.
      """)

  @Argument(
    help: "The lab's name (optional when one lab runs), then the ports, SWITCH/PORT.",
    completion: .custom(Completions.labThenPorts))
  var arguments: [String] = []

  @Option(
    name: .customShort("w"),
    help: ArgumentHelp("Write pcapng to FILE, or '-' for standard output.", valueName: "FILE"),
    completion: .file(extensions: ["pcapng"]))
  var file: String?

  @Option(
    name: .customShort("f"), help: ArgumentHelp("A tcpdump filter expression.", valueName: "FILTER")
  )
  var filter: String?

  @Option(
    name: .customShort("s"),
    help: ArgumentHelp("Bytes kept of each frame (0: 262144).", valueName: "SNAPLEN"))
  var snaplen: Int = 262_144

  @Option(
    name: .customShort("c"), help: ArgumentHelp("Stop after COUNT frames.", valueName: "COUNT"))
  var count: Int?

  @Option(
    help: ArgumentHelp(
      "Rotate through N files of SIZE each (with -w FILE), like dumpcap -b.", valueName: "N:SIZE"))
  var ring: String?

  @Option(
    help: "Which frames: in (received from the port), out (sent to it) or both.",
    completion: .list(["in", "out", "both"]))
  var direction: String = "both"

  /// The most a snaplen can be (tcpdump's maximum).
  static let maximumSnaplen = 262_144

  func run() throws {
    let (labArgument, ports) = try splitArguments()
    let snaplen = self.snaplen == 0 ? CaptureCommand.maximumSnaplen : self.snaplen
    guard (1...CaptureCommand.maximumSnaplen).contains(snaplen) else {
      throw PatchbayError(
        "invalid snaplen \(self.snaplen): must be from 1 to 262144 (0 for 262144)")
    }
    if let count, count < 1 { throw PatchbayError("invalid count \(count): must be at least 1") }
    guard CaptureDirection(rawValue: direction) != nil else {
      throw PatchbayError("invalid direction '\(direction)': use in, out or both")
    }
    let rotation = try ringSetting()
    // The daemon compiles the filter too; compiling here fails a typo before the lab is asked.
    if let filter {
      do {
        _ = try PacketFilter(filter, snaplen: snaplen)
      } catch {
        throw PatchbayError(error.description)
      }
    }
    try requireRoot("patchbay capture")
    let name = try LabName.runningLab(labArgument)
    let paths = LabPaths(name: name)
    guard paths.runningPID != nil else { throw PatchbayError("lab \(name) is not running") }
    let request = ControlRequest.capture(
      CaptureRequest(
        ports: ports, filter: filter, snaplen: snaplen, direction: direction, count: count))
    let connection: Int32
    do {
      connection = try ControlClient.openStream(request, to: paths.controlSocket)
    } catch {
      throw PatchbayError(error.description)
    }
    defer { close(connection) }
    // Ctrl-C shuts our side down; the daemon then ends the capture and sends its summary.
    ClientConnections.endCaptureOnInterrupt(connection)
    let summary = try receive(from: connection, rotation: rotation)
    printError(
      "\(summary.captured) packets captured, \(summary.filteredOut) filtered out, "
        + "\(summary.lost) lost (reader too slow)")
  }

  /// The lab name (when the first argument is not a port) and the ports.
  private func splitArguments() throws -> (lab: String?, ports: [String]) {
    var rest = arguments[...]
    var lab: String?
    if let first = rest.first,
      !first.contains("/") || first.hasSuffix(".yaml")
        || first.hasSuffix(".yml")
    {
      lab = first
      rest = rest.dropFirst()
    }
    guard !rest.isEmpty else {
      throw PatchbayError("name at least one port to capture (SWITCH/PORT)")
    }
    for port in rest where PortReference(port) == nil {
      throw PatchbayError("invalid port '\(port)': ports are named SWITCH/PORT")
    }
    for (index, port) in rest.enumerated() where rest.prefix(index).contains(port) {
      throw PatchbayError("port '\(port)' is named twice")
    }
    return (lab, Array(rest))
  }

  private func ringSetting() throws -> CaptureFile.Ring? {
    guard let ring else { return nil }
    guard let file, file != "-" else {
      throw PatchbayError("--ring needs -w FILE: a ring of files cannot go to standard output")
    }
    guard
      let setting = CaptureFile.Ring(
        ring,
        size: { text in (try? ValueFormat.size(text)).flatMap { Int(exactly: $0) } })
    else {
      throw PatchbayError(
        "invalid ring '\(ring)': use N:SIZE with at least 2 files and a size, like 4:16MiB")
    }
    return setting
  }

  /// Reads the daemon's stream to its end, writing the capture where asked;
  /// returns the summary.
  private func receive(from connection: Int32, rotation: CaptureFile.Ring?) throws
    -> CaptureSummary
  {
    guard let (kind, payload) = CaptureStream.receive(from: connection), kind == .response,
      let response = try? JSONDecoder().decode(ControlResponse.self, from: Data(payload))
    else { throw PatchbayError("the lab sent no answer to the capture request") }
    guard response.ok else { throw PatchbayError(response.error ?? "the lab refused the capture") }
    var sink: CaptureFile?
    var printer: PacketLinePrinter?
    while let (kind, payload) = CaptureStream.receive(from: connection) {
      switch kind {
      case .header:
        do {
          if let file {
            sink =
              file == "-"
              ? try CaptureFile(standardOutputWithHeader: payload)
              : try CaptureFile(path: file, ring: rotation, header: payload)
          } else {
            printer = PacketLinePrinter(header: payload)
          }
        } catch {
          throw PatchbayError(error.description)
        }
      case .blocks:
        let failure = payload.withUnsafeBytes { (blocks) -> String? in
          printer?.print(blocks: blocks)
          do {
            try sink?.write(blocks: blocks)
            return nil
          } catch {
            return (error as? CaptureError)?.description ?? "\(error)"
          }
        }
        if let failure { throw PatchbayError(failure) }
      case .summary:
        sink?.close()
        guard let summary = try? JSONDecoder().decode(CaptureSummary.self, from: Data(payload))
        else { throw PatchbayError("the lab sent a malformed capture summary") }
        return summary
      case .response:
        throw PatchbayError("the lab sent a malformed capture stream")
      }
    }
    sink?.close()
    throw PatchbayError("the lab ended the capture without a summary (did it stop?)")
  }
}
