import Foundation
import Testing

/// `up`, `down`, signals and failed builds leave nothing behind.
@Suite(.serialized, .enabled(if: Harness.canRunLabs, "needs root with CAP_NET_ADMIN"))
struct LifecycleTests {
  @Test func downRemovesEverythingAndIsIdempotent() throws {
    // A lab runs: through the gate that lets measuring tests run alone.
    try LabGate.shared.sharing {
      let lab = "e2down"
      Harness.forceClean(lab)
      let file = try Harness.topologyFile(Harness.threeHosts(lab))
      let up = try Harness.patchbay("up", file, "--detach")
      #expect(up.status == 0, "\(up.errors)")
      #expect(up.output.contains("lab \(lab) is up"), "\(up.output)")
      #expect(Harness.namespaces(of: lab) == ["\(lab)-h1", "\(lab)-h2", "\(lab)-h3"])
      let attributes = try FileManager.default.attributesOfItem(
        atPath: "/run/patchbay/\(lab)/control.sock")
      #expect((attributes[.posixPermissions] as? Int) == 0o600)
      #expect(FileManager.default.fileExists(atPath: "/run/patchbay/\(lab)/pid"))

      let down = try Harness.patchbay("down", lab)
      #expect(down.status == 0, "\(down.errors)")
      #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
      let again = try Harness.patchbay("down", lab)
      #expect(again.status == 0)
      #expect(again.output.contains("not running"))
      // down also takes the topology file.
      let upAgain = try Harness.patchbay("up", file, "--detach")
      #expect(upAgain.status == 0, "\(upAgain.errors)")
      let downByFile = try Harness.patchbay("down", file)
      #expect(downByFile.status == 0, "\(downByFile.errors)")
      #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
      Harness.forceClean(lab)
    }
  }

  @Test(arguments: [SIGTERM, SIGINT])
  func foregroundUpCleansUpOnSignal(_ signal: Int32) throws {
    // A lab runs: through the gate that lets measuring tests run alone.
    try LabGate.shared.sharing {
      let lab = "e2sig"
      Harness.forceClean(lab)
      defer { Harness.forceClean(lab) }
      let file = try Harness.topologyFile(Harness.threeHosts(lab))
      let process = Process()
      process.executableURL = URL(fileURLWithPath: Harness.binary)
      process.arguments = ["up", file]
      let output = Pipe()
      process.standardOutput = output
      process.standardError = output
      try process.run()
      // Ready once the pid file is written.
      var ready = false
      for _ in 0..<200 {
        if FileManager.default.fileExists(atPath: "/run/patchbay/\(lab)/pid") {
          ready = true; break
        }
        usleep(50_000)
      }
      #expect(ready, "the lab never came up")
      let ping = try Harness.exec(lab, "h1", "ping", "-c", "1", "-W", "2", "10.0.0.2")
      #expect(ping.status == 0, "\(ping.output)")
      kill(process.processIdentifier, signal)
      process.waitUntilExit()
      let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      #expect(process.terminationStatus == 0, "\(text)")
      #expect(text.contains("stopped"), "\(text)")
      #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
    }
  }

  /// Runs `up --detach` on `yaml` (lab `lab`), which must fail, and checks that
  /// nothing of the lab is left; returns `up`'s stderr and the file's path.
  func failingUp(_ yaml: String, lab: String) throws -> (errors: String, file: String) {
    Harness.forceClean(lab)
    defer { Harness.forceClean(lab) }
    let file = try Harness.topologyFile(yaml)
    let up = try Harness.patchbay("up", file, "--detach")
    #expect(up.status == 1)
    #expect(Harness.leftovers(of: lab).isEmpty, "\(Harness.leftovers(of: lab))")
    return (up.errors, file)
  }

  @Test func failedUpRemovesWhatItHadCreated() throws {
    // Two hosts come up first; the third port's MTU is valid in the file but
    // above what the kernel allows on a TAP, so the build fails half way.
    let (errors, _) = try failingUp(
      """
      name: e2fail
      switches:
        core:
          ports:
            h1: {}
            h2: {}
            big: {mtu: 65535}
      hosts:
        h1: {port: core/h1, address: 10.0.0.1/24}
        h2: {port: core/h2, address: 10.0.0.2/24}
      """, lab: "e2fail")
    #expect(errors.split(separator: "\n").count == 1, "one line: \(errors)")
    #expect(errors.hasPrefix("patchbay: error: port core/big:"), "\(errors)")
    #expect(errors.contains("65521"), "\(errors)")
  }

  @Test func anInvalidFileBuildsNothing() throws {
    // Valid hosts first, then an error at the very end of the file.
    let (errors, file) = try failingUp(
      """
      name: e2invalid
      switches:
        core:
          ports:
            h1: {}
            h2: {}
      hosts:
        h1: {port: core/h1, address: 10.0.0.1/24}
        h2: {port: core/h2, address: 10.0.0.2/24, mac: 01:00:5e:00:00:01}
      """, lab: "e2invalid")
    #expect(errors.hasPrefix("\(file):9:"), "\(errors)")
  }

  @Test func takenInterfaceNameFailsCleanly() throws {
    let lab = "e2taken"
    Harness.forceClean(lab)
    defer { Harness.forceClean(lab) }
    try Harness.ip("tuntap", "add", "dev", "\(lab)-h2", "mode", "tap")
    let up = try Harness.patchbay(
      "up", try Harness.topologyFile(Harness.threeHosts(lab)), "--detach")
    #expect(up.status == 1)
    #expect(
      up.errors == "patchbay: error: port core/h2: interface '\(lab)-h2' already exists\n",
      "\(up.errors)")
    // Only the interface the test made is there: nothing of the lab.
    #expect(Harness.interfaces(of: lab) == ["\(lab)-h2"])
    #expect(Harness.namespaces(of: lab).isEmpty)
    #expect(!FileManager.default.fileExists(atPath: "/run/patchbay/\(lab)"))
  }

  @Test func twoLabsRunSideBySideAndStayApart() throws {
    let first = "e2side-a"
    let second = "e2side-b"
    try Harness.withLab(Harness.threeHosts(first), named: first) { _ in
      try Harness.withLab(Harness.threeHosts(second), named: second) { _ in
        // Same addresses in both labs, and each lab's hosts reach only their own switch.
        #expect(try Harness.exec(first, "h1", "ping", "-c", "1", "-W", "2", "10.0.0.2").status == 0)
        #expect(
          try Harness.exec(second, "h1", "ping", "-c", "1", "-W", "2", "10.0.0.3").status == 0)
        let status = try Harness.patchbay("status", "--json")
        #expect(status.status == 0, "\(status.errors)")
        let labs = try #require(
          JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [[String: Any]])
        let names = labs.compactMap { $0["name"] as? String }
        #expect(names.contains(first) && names.contains(second), "\(names)")
        let ambiguous = try Harness.patchbay("fdb")
        #expect(ambiguous.status == 1)
        #expect(ambiguous.errors.contains("several labs are running"), "\(ambiguous.errors)")
      }
    }
  }

  @Test func upRefusesALabThatIsAlreadyRunning() throws {
    let lab = "e2twice"
    try Harness.withLab(Harness.threeHosts(lab), named: lab) { file in
      let again = try Harness.patchbay("up", file, "--detach")
      #expect(again.status == 1)
      #expect(again.errors.contains("lab '\(lab)' is already running"), "\(again.errors)")
      // The running lab is untouched.
      #expect(try Harness.exec(lab, "h1", "ping", "-c", "1", "-W", "2", "10.0.0.3").status == 0)
    }
  }

  @Test func execReportsUnknownLabsAndHosts() throws {
    let lab = "e2exec"
    try Harness.withLab(Harness.threeHosts(lab), named: lab) { _ in
      let hostname = try Harness.exec(lab, "h2", "ip", "-br", "addr", "show", "eth0")
      #expect(hostname.status == 0)
      #expect(hostname.output.contains("10.0.0.2/24"), "\(hostname.output)")
      let missingHost = try Harness.exec(lab, "h9", "true")
      #expect(missingHost.status == 1)
      #expect(
        missingHost.errors == "patchbay: error: lab \(lab) has no host 'h9' (hosts: h1, h2, h3)\n")
      let exitCode = try Harness.exec(lab, "h1", "sh", "-c", "exit 7")
      #expect(exitCode.status == 7, "exec passes the command's exit status through")
    }
    let missingLab = try Harness.exec("e2nolab", "h1", "true")
    #expect(missingLab.status == 1)
    #expect(missingLab.errors == "patchbay: error: lab e2nolab is not running\n")
  }
}
