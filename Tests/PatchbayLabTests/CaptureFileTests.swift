import Foundation
import PatchbayDatapath
import PatchbayWire
import Testing

@testable import PatchbayLab

/// Capture files: one file, or a ring rotated between blocks that keeps the
/// newest N files, each opening with the header.
@Suite struct CaptureFileTests {
  let header = Pcapng.header(interfaces: [
    Pcapng.Interface(name: "core/h1", description: "test", snaplen: 65_535)
  ])

  /// `count` packet blocks of `captured` bytes each, concatenated.
  func blocks(count: Int, captured: Int) -> [UInt8] {
    let length = Pcapng.packetBlockLength(captured: captured)
    var bytes = [UInt8](repeating: 0, count: count * length)
    let frame = [UInt8](repeating: 0xAB, count: captured)
    bytes.withUnsafeMutableBytes { buffer in
      frame.withUnsafeBytes { source in
        for index in 0..<count {
          Pcapng.writePacketBlock(
            to: buffer.baseAddress! + index * length, interface: 0, timestamp: UInt64(index),
            direction: .inbound, frame: source.baseAddress!, captured: captured,
            originalLength: captured)
        }
      }
    }
    return bytes
  }

  func temporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-capture-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
  }

  @Test func aRingKeepsTheNewestFilesEachWithinItsSizeAndStartingWithTheHeader() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("web.pcapng").path
    let file = try CaptureFile(
      path: path, ring: CaptureFile.Ring(files: 3, size: 10_000), header: header)
    // 100 blocks of 1044 bytes: 9 per file (header + 9 blocks < 10,000), 12 files in all.
    let data = blocks(count: 100, captured: 1000)
    try data.withUnsafeBytes {
      try file.write(blocks: UnsafeRawBufferPointer(rebasing: $0[0..<1044 * 40]))
    }
    try data.withUnsafeBytes {
      try file.write(blocks: UnsafeRawBufferPointer(rebasing: $0[(1044 * 40)...]))
    }
    file.close()
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    #expect(names.count == 3)
    #expect(file.files.map { URL(fileURLWithPath: $0).lastPathComponent } == names)
    for (index, name) in names.enumerated() {
      // web_00010_YYYYMMDDHHMMSS.pcapng ... web_00012_...
      #expect(name.hasPrefix("web_000\(10 + index)_") && name.hasSuffix(".pcapng"))
      #expect(name.count == "web_00010_20261125143000.pcapng".count)
      let contents = try [UInt8](Data(contentsOf: directory.appendingPathComponent(name)))
      #expect(contents.count <= 10_000)
      #expect(Array(contents.prefix(header.count)) == header)
      let packets = contents.withUnsafeBytes {
        PcapngReader.packets(in: UnsafeRawBufferPointer(rebasing: $0[header.count...]))
      }
      #expect(packets.count == (index == 2 ? 1 : 9))
    }
  }

  @Test func aSingleFileHoldsEverythingWritten() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("one.pcapng").path
    let file = try CaptureFile(path: path, header: header)
    let data = blocks(count: 7, captured: 61)
    try data.withUnsafeBytes { try file.write(blocks: $0) }
    file.close()
    let contents = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    #expect(contents == header + data)
  }

  @Test func anUnwritablePathIsOneLine() {
    #expect {
      _ = try CaptureFile(path: "/nonexistent-dir/x.pcapng", header: header)
    } throws: { error in
      (error as? CaptureError)?.description
        == "cannot write /nonexistent-dir/x.pcapng: No such file or directory"
    }
  }
}

/// A batch a ring cannot split into whole blocks (a length of 0, say, from a
/// confused daemon on the CLI's side) is refused, not looped on.
@Suite struct CaptureFileBatchTests {
  @Test func aBatchOfBrokenBlocksIsRefused() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-capture-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = try CaptureFile(
      path: directory.appendingPathComponent("r.pcapng").path,
      ring: CaptureFile.Ring(files: 2, size: 1000), header: [])
    let broken = [UInt8](repeating: 0, count: 64)
    #expect(throws: CaptureError.self) {
      try broken.withUnsafeBytes { try file.write(blocks: $0) }
    }
  }
}
