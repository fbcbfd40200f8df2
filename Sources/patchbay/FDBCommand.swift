import ArgumentParser
import Foundation
import PatchbayControl

/// `patchbay fdb [NAME] [--switch S] [--json]`.
struct FDBCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fdb", abstract: "Show the MAC tables: switch, VLAN, MAC, port, age, type.")

  @Argument(
    help: "The lab's name (default: the only running lab).",
    completion: .custom(Completions.labs))
  var lab: String?

  @Option(
    name: .customLong("switch"), help: ArgumentHelp("Only this switch.", valueName: "SWITCH"),
    completion: .custom(Completions.switches))
  var switchName: String?

  @Flag(help: "Print JSON.")
  var json = false

  func run() throws {
    try requireRoot("patchbay fdb")
    let name = try LabName.runningLab(lab)
    let records =
      try LabName.ask(name, ControlRequest.fdb(switchName: switchName)).fdb ?? []
    if json {
      print(try JSONOutput.encode(records))
      return
    }
    var rows = [["SWITCH", "VLAN", "MAC", "PORT", "AGE", "TYPE"]]
    for record in records {
      rows.append([
        record.switchName, String(record.vlan), record.mac, record.port,
        record.type == "static" ? "-" : formatDuration(record.ageSeconds), record.type,
      ])
    }
    print(TerminalText.escapedLines(table(rows).joined(separator: "\n")))
  }
}
