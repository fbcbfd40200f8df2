import Foundation
import Testing

/// The CLI's contract for files and errors, through the real binary (no root needed).
@Suite struct CommandLineTests {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  @Test func validateAcceptsEveryShippedTopology() throws {
    let folder = Self.repository.appendingPathComponent("Topologies")
    let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
      .filter { $0.hasSuffix(".yaml") }
    #expect(files.contains("quickstart.yaml"))
    for file in files {
      let result = try Harness.patchbay("validate", folder.appendingPathComponent(file).path)
      #expect(result.status == 0, "\(file): \(result.errors)")
      #expect(result.errors.isEmpty)
    }
  }

  @Test func validateReportsEveryProblemAsFileLineColumn() throws {
    let file = try Harness.topologyFile(
      """
      name: bad
      switches:
        core:
          mac-agin: 300s
          ports:
            p1: {}
      hosts:
        h1: {port: core/p9, address: 10.0.0.300/24}
      """)
    let result = try Harness.patchbay("validate", file)
    #expect(result.status == 1)
    #expect(result.output.isEmpty)
    let lines = result.errors.split(separator: "\n").map(String.init)
    #expect(lines.count == 3, "\(lines)")
    for line in lines {
      #expect(line.hasPrefix("\(file):"), "\(line)")
      #expect(line.contains(": error: "), "\(line)")
    }
    #expect(
      lines.first?.hasPrefix("\(file):4:5: error: unknown key 'mac-agin'") == true, "\(lines)")
    #expect(lines.first?.contains("did you mean 'mac-aging'?") == true, "\(lines)")
  }

  @Test func validateAndUpCheckAVMsFilesAndQEMU() throws {
    let file = try Harness.topologyFile(
      """
      name: later
      switches:
        core:
          ports:
            p1: {}
      vms:
        vm1: {port: core/p1, kernel: no/vmlinuz, initrd: /no/initrd}
      """)
    for command in ["validate", "up"] {
      let result = try Harness.patchbay(command, file)
      #expect(result.status == 1)
      #expect(
        result.errors == """
          \(file):7:32: error: kernel 'no/vmlinuz' does not exist
          \(file):7:52: error: initrd '/no/initrd' does not exist

          """, "\(command): \(result.errors)")
    }
    // `graph` and `down FILE` need no kernel: a lab must come down after its files went.
    #expect(try Harness.patchbay("graph", file).status == 0)
    let down = try Harness.patchbay("down", file)
    #expect(down.status == 0, "\(down.errors)")
    // Without QEMU on PATH, validate says so at the first VM (and how to get it).
    let bare = try Harness.run(
      "/usr/bin/env", ["PATH=/nonexistent", Harness.binary, "validate", file])
    #expect(bare.status == 1)
    #expect(
      bare.errors.hasPrefix(
        "\(file):7:3: error: QEMU is not installed: 'qemu-system-x86_64' is not on PATH"),
      "\(bare.errors)")
  }

  @Test func setRefusesBadSettingsInOneLineBeforeAskingAnyLab() throws {
    let cases: [([String], String)] = [
      (
        ["set", "nolab", "core/h1", "rate", "ingres=5mbit"],
        "unknown rate setting 'ingres'; use ingress, egress, burst, ingress-pps, egress-pps"
      ),
      (
        ["set", "nolab", "core/h1", "rate", "egress=5mbps"],
        "invalid egress '5mbps': unknown unit 'mbps'; use bit, kbit, mbit, gbit, pps, kpps or mpps"
      ),
      (["set", "nolab", "h1", "rate", "off"], "invalid port 'h1': ports are named SWITCH/PORT"),
      (
        ["set", "nolab", "core/h1", "vlan", "10"],
        "cannot set 'vlan': only 'rate' can be changed on a running lab"
      ),
    ]
    for (arguments, message) in cases {
      let result = try Harness.run(Harness.binary, arguments)
      #expect(result.status == 1, "\(arguments)")
      #expect(result.errors == "patchbay: error: \(message)\n", "\(arguments)")
      #expect(result.output.isEmpty)
    }
  }

  @Test func errorsAreOneLineWithoutAStackTrace() throws {
    let missing = try Harness.patchbay("validate", "/nonexistent/lab.yaml")
    #expect(missing.status == 1)
    #expect(missing.errors == "patchbay: error: no such file: /nonexistent/lab.yaml\n")
    let unknown = try Harness.patchbay("frobnicate")
    #expect(unknown.status != 0)
    #expect(unknown.errors.hasPrefix("patchbay: error: "), "\(unknown.errors)")
    #expect(unknown.errors.split(separator: "\n").count == 1, "\(unknown.errors)")
  }

  @Test func graphPrintsDotAndMermaid() throws {
    let quickstart = Self.repository.appendingPathComponent("Topologies/quickstart.yaml").path
    let dot = try Harness.patchbay("graph", quickstart)
    #expect(dot.status == 0, "\(dot.errors)")
    #expect(dot.output.hasPrefix("graph \"quickstart\" {"), "\(dot.output)")
    let mermaid = try Harness.patchbay("graph", quickstart, "--format", "mermaid")
    #expect(mermaid.status == 0, "\(mermaid.errors)")
    #expect(mermaid.output.hasPrefix("graph LR"), "\(mermaid.output)")
    for host in ["h1", "h2", "h3"] {
      #expect(dot.output.contains(host) && mermaid.output.contains(host))
    }
  }
}
