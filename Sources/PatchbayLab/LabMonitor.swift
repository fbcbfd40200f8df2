import Logging
import PatchbayCore
import PatchbayDatapath

/// Turns what the datapath hands the daemon into log lines: each port that
/// went down or came back, and every `dropInterval` observations one summary
/// line per port whose drops grew (the reasons and how many), never a line
/// per frame. The datapath itself never logs; the daemon calls `observe`
/// once a second with `Datapath.activity()`.
struct LabMonitor {
  /// Port names by global index (`SWITCH/PORT`).
  let portNames: [String]
  /// Observations between two drop summaries.
  let dropInterval: Int
  /// Seconds between two observations, for the summary's wording.
  let secondsPerObservation: Int
  private let logger: Logger
  // The counters of the last summary (nil before the first observation).
  private var lastCounters: [PortCounters]?
  private var observations = 0

  /// A monitor logging to `logger` about `portNames`.
  init(portNames: [String], logger: Logger, dropInterval: Int = 5, secondsPerObservation: Int = 1) {
    self.portNames = portNames
    self.logger = logger
    self.dropInterval = dropInterval
    self.secondsPerObservation = secondsPerObservation
  }

  /// Logs `activity`'s port events now and, every `dropInterval` calls, the
  /// ports whose drops grew since the last summary.
  mutating func observe(_ activity: DatapathActivity) {
    for event in activity.events { log(event) }
    if activity.lostEvents > 0 {
      logger.warning(
        "\(activity.lostEvents) port events were lost before they could be logged",
        metadata: ["lost": "\(activity.lostEvents)"])
    }
    let counters = activity.counters.flatMap { $0 }
    guard let previous = lastCounters else {
      lastCounters = counters
      return
    }
    observations += 1
    guard observations >= dropInterval else { return }
    observations = 0
    lastCounters = counters
    for (global, now) in counters.enumerated() where global < previous.count {
      summarise(port: global, from: previous[global], to: now)
    }
  }

  private func log(_ event: PortEvent) {
    let name = event.port < portNames.count ? portNames[event.port] : "port \(event.port)"
    let what =
      switch event.cause {
      case .interfaceLost: "down: its interface went away"
      case .heldDown: "down: held down (its VM exited)"
      case .interfaceReturned: "up: its interface is back"
      }
    logger.notice(
      "port \(name) \(what)",
      metadata: ["port": "\(name)", "state": "\(event.isUp ? "up" : "down")"])
  }

  /// One line for `port` if any of its receive or transmit drops grew.
  private func summarise(port global: Int, from old: PortCounters, to new: PortCounters) {
    var grown: [(String, UInt64)] = []
    for reason in DropReason.allCases {
      let received = new[dropped: reason] &- old[dropped: reason]
      if received > 0 { grown.append(("\(reason)", received)) }
    }
    for reason in DropReason.allCases {
      let sent = new[transmitDropped: reason] &- old[transmitDropped: reason]
      if sent > 0 { grown.append(("tx \(reason)", sent)) }
    }
    guard !grown.isEmpty else { return }
    let total = grown.reduce(0) { $0 + $1.1 }
    let name = global < portNames.count ? portNames[global] : "port \(global)"
    let reasons = grown.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
    var drops: Logger.Metadata = [:]
    for (reason, count) in grown { drops[reason] = "\(count)" }
    logger.notice(
      "port \(name) dropped \(total) frames in \(dropInterval * secondsPerObservation)s: \(reasons)",
      metadata: ["port": "\(name)", "dropped": "\(total)", "drops": .dictionary(drops)])
  }
}
