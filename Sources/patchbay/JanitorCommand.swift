import ArgumentParser
import PatchbayLab

/// `patchbay janitor NAME` (hidden): the process the daemon starts, while it is
/// still root, to remove the lab's leftovers for it (see `LabJanitor`).
struct JanitorCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "janitor", abstract: "Removes a lab's leftovers for its daemon.",
    shouldDisplay: false)

  @Argument(help: "The lab's name.")
  var name: String

  func run() throws {
    try LabJanitor.serve(lab: name)
  }
}
