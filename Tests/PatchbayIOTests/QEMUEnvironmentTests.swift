import Foundation
import PatchbayIO
import PatchbayTopology
import Testing

@Suite struct QEMUEnvironmentTests {
  /// A directory with a kernel file and a subdirectory, removed at the end.
  private func withImages(_ body: (String) throws -> Void) throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-qemu-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(
      atPath: directory + "/images/sub", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try Data("kernel".utf8).write(to: URL(fileURLWithPath: directory + "/images/vmlinuz"))
    try Data([0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]).write(
      to: URL(fileURLWithPath: directory + "/images/disk.qcow2"))
    try body(directory)
  }

  @Test func everyMissingFileAndQEMUItselfIsReportedAtItsValue() throws {
    try withImages { directory in
      let yaml = """
        name: lab
        switches:
          core:
            ports:
              a: {}
              b: {}
        vms:
          one: {port: core/a, kernel: images/vmlinuz, initrd: images/nothere}
          two: {port: core/b, disk: images/sub, accel: kvm}
        """
      let file = directory + "/lab.yaml"
      let topology = try TopologyLoader.load(yaml: yaml, file: file)
      let problems = QEMUEnvironment.problems(
        of: topology, topologyFile: file, executable: nil, hasKVM: false
      ).map(\.description)
      #expect(
        problems == [
          "\(file):8:3: error: QEMU is not installed: 'qemu-system-x86_64' is not on PATH (apt-get install qemu-system-x86)",
          "\(file):8:55: error: initrd 'images/nothere' does not exist",
          "\(file):9:29: error: disk 'images/sub' is a directory",
          "\(file):9:48: error: accel kvm: /dev/kvm is missing or not usable here (use tcg)",
        ])
      let fine = yaml.replacingOccurrences(of: "images/nothere", with: "images/vmlinuz")
        .replacingOccurrences(of: "images/sub", with: "\(directory)/images/disk.qcow2")
      #expect(
        QEMUEnvironment.problems(
          of: try TopologyLoader.load(yaml: fine, file: file), topologyFile: file,
          executable: "/usr/bin/qemu-system-x86_64", hasKVM: true
        ).isEmpty)
    }
  }

  @Test func diskFormatsAreToldByTheirMagic() throws {
    try withImages { directory in
      #expect(QEMUEnvironment.diskFormat(of: directory + "/images/disk.qcow2") == .qcow2)
      #expect(QEMUEnvironment.diskFormat(of: directory + "/images/vmlinuz") == .raw)
    }
  }

  @Test func theExecutableIsFoundOnTheSearchPath() throws {
    try withImages { directory in
      let binary = directory + "/images/sub/" + QEMUEnvironment.executableName
      try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: binary))
      #expect(QEMUEnvironment.executable(searchPath: "/nonexistent:\(directory)/images") == nil)
      chmod(binary, 0o755)
      #expect(
        QEMUEnvironment.executable(searchPath: "/nonexistent::\(directory)/images/sub") == binary)
    }
  }
}
