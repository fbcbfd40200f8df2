import ArgumentParser
import PatchbayControl
import PatchbayLab
import PatchbayTopology

/// `patchbay set NAME SWITCH/PORT rate ingress=RATE egress=RATE|off ...`.
struct SetCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "set",
    abstract: "Change a running lab's port settings without disturbing the rest.",
    discussion: """
      patchbay set lab1 core/vm1 rate ingress=50mbit egress=off
      patchbay set lab1 core/vm1 rate egress-pps=20kpps burst=64KiB
      patchbay set lab1 core/vm1 rate off

      Settings not named keep their value; off lifts one limit, or all of them alone.
      """)

  @Argument(
    help: "The lab's name (or its topology file).", completion: .custom(Completions.labs))
  var lab: String

  @Argument(help: "The port, SWITCH/PORT.", completion: .custom(Completions.ports))
  var port: String

  @Argument(help: "What to change: rate.", completion: .list(["rate"]))
  var setting: String

  @Argument(help: "KEY=VALUE pairs: ingress, egress, burst, ingress-pps, egress-pps (or off).")
  var values: [String] = []

  func run() throws {
    guard setting == "rate" else {
      throw PatchbayError("cannot set '\(setting)': only 'rate' can be changed on a running lab")
    }
    guard PortReference(port) != nil else {
      throw PatchbayError("invalid port '\(port)': ports are named SWITCH/PORT")
    }
    // The same checks the daemon makes, so a typo fails before anything is asked.
    do {
      _ = try RateLimitSpec().updated(with: values)
    } catch {
      throw PatchbayError(error.reason)
    }
    try requireRoot("patchbay set")
    let name = try LabName.resolve(lab)
    let response = try LabName.ask(
      name, ControlRequest.setRate(port: port, settings: values))
    print(response.message ?? "\(port): changed")
  }
}
