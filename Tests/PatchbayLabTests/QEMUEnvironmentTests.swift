import Foundation
import PatchbayLab
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
    try Self.qcow2Header().write(to: URL(fileURLWithPath: directory + "/images/disk.qcow2"))
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

  /// A qcow2 (version 3) header naming `backing`, as QEMU writes one: the
  /// name right after the 104-byte header. Only what Patchbay reads of it.
  static func qcow2Header(backing: String? = nil) -> Data {
    var bytes: [UInt8] = [0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]
    func big(_ value: UInt64, _ count: Int) {
      bytes += (0..<count).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
    let name = Array((backing ?? "").utf8)
    big(backing == nil ? 0 : 104, 8)
    big(UInt64(name.count), 4)
    big(16, 4)  // cluster bits
    big(1 << 30, 8)  // virtual size
    bytes += [UInt8](repeating: 0, count: 104 - bytes.count)
    return Data(bytes + name)
  }

  @Test func aQCOW2HeadersBackingFileIsRead() {
    #expect(QCOW2Header([UInt8](Self.qcow2Header())) == QCOW2Header([UInt8](Self.qcow2Header())))
    #expect(QCOW2Header([UInt8](Self.qcow2Header()))?.backingFile == nil)
    #expect(QCOW2Header([UInt8](Self.qcow2Header()))?.version == 3)
    #expect(
      QCOW2Header([UInt8](Self.qcow2Header(backing: "../base.img")))?.backingFile == "../base.img")
    // Not qcow2: other magic, a short file, a name past the end, an unknown version.
    #expect(QCOW2Header([UInt8]("kernel, not an image at all".utf8)) == nil)
    #expect(QCOW2Header([0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]) == nil)
    #expect(QCOW2Header([UInt8](Self.qcow2Header(backing: "base.img").dropLast(2))) == nil)
    var future = [UInt8](Self.qcow2Header())
    future[7] = 9
    #expect(QCOW2Header(future) == nil)
  }

  /// The problems of a lab whose one VM's disk is `disk` (YAML), in `directory`.
  private func diskProblems(_ disk: String, in directory: String) throws -> [String] {
    let yaml = """
      name: lab
      switches:
        core:
          ports:
            a: {}
      vms:
        one: {port: core/a, disk: \(disk)}
      """
    let file = directory + "/lab.yaml"
    return QEMUEnvironment.problems(
      of: try TopologyLoader.load(yaml: yaml, file: file), topologyFile: file,
      executable: "/usr/bin/qemu-system-x86_64", hasKVM: true
    ).map(\.description)
  }

  @Test func aBackingFileIsRefusedUnlessDeclaredAndTheFormatIsNeverGuessed() throws {
    try withImages { directory in
      let file = directory + "/lab.yaml"
      let images = directory + "/images/"
      try Self.qcow2Header(backing: "base.qcow2").write(
        to: URL(fileURLWithPath: images + "top.qcow2"))
      try Self.qcow2Header(backing: "/etc/shadow").write(
        to: URL(fileURLWithPath: images + "evil.img"))
      try Self.qcow2Header().write(to: URL(fileURLWithPath: images + "base.qcow2"))
      try Self.qcow2Header(backing: "deeper.img").write(
        to: URL(fileURLWithPath: images + "chain.qcow2"))
      // A raw disk's bytes are never read: a qcow2 header in them is data.
      #expect(try diskProblems("images/evil.img", in: directory).isEmpty)
      #expect(try diskProblems("{file: images/evil.img, format: raw}", in: directory).isEmpty)
      // Told it is qcow2, the header's backing file is refused, in one line at the file.
      #expect(
        try diskProblems("{file: images/evil.img, format: qcow2}", in: directory) == [
          "\(file):7:36: error: disk 'images/evil.img' names a backing file '/etc/shadow' in its qcow2 header; QEMU opens it only when the topology declares it (disk: {file: ..., backing: ...})"
        ])
      #expect(
        try diskProblems("images/top.qcow2", in: directory) == [
          "\(file):7:29: error: disk 'images/top.qcow2' names a backing file 'base.qcow2' in its qcow2 header; QEMU opens it only when the topology declares it (disk: {file: ..., backing: ...})"
        ])
      // Declared, it is accepted; another file than the header's, or a chain, is not.
      #expect(
        try diskProblems("{file: images/top.qcow2, backing: images/base.qcow2}", in: directory)
          .isEmpty)
      #expect(
        try diskProblems("{file: images/top.qcow2, backing: images/disk.qcow2}", in: directory) == [
          "\(file):7:36: error: disk 'images/top.qcow2' names backing file 'base.qcow2' in its qcow2 header, not the declared 'images/disk.qcow2'"
        ])
      #expect(
        try diskProblems("{file: images/base.qcow2, backing: images/chain.qcow2}", in: directory)
          == [
            "\(file):7:36: error: disk 'images/base.qcow2' has no backing file in its qcow2 header, but backing 'images/chain.qcow2' is declared"
          ])
      try Self.qcow2Header(backing: "chain.qcow2").write(
        to: URL(fileURLWithPath: images + "top.qcow2"))
      #expect(
        try diskProblems("{file: images/top.qcow2, backing: images/chain.qcow2}", in: directory)
          == [
            "\(file):7:36: error: backing 'images/chain.qcow2' names a backing file of its own ('deeper.img'); only one level is supported"
          ])
      // A file called .qcow2 that is none, and a name with control characters, in one line.
      #expect(
        try diskProblems("images/vmlinuz.qcow2", in: directory).first?.hasSuffix(
          "error: disk 'images/vmlinuz.qcow2' does not exist") == true)
      try Data("plain".utf8).write(to: URL(fileURLWithPath: images + "plain.qcow2"))
      #expect(
        try diskProblems("images/plain.qcow2", in: directory) == [
          "\(file):7:29: error: disk 'images/plain.qcow2' is not a qcow2 image (for a plain image say format: raw)"
        ])
      try Self.qcow2Header(backing: "a\nb\u{1b}[2J").write(
        to: URL(fileURLWithPath: images + "top.qcow2"))
      let escaped = try diskProblems("images/top.qcow2", in: directory)
      #expect(escaped.count == 1 && escaped[0].contains("'a?b?[2J'"), "\(escaped)")
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
