import CLinuxNet
import Foundation
import Glibc
import PatchbayDatapath
import PatchbayWire
import Testing

@testable import PatchbayLab

/// Where topology captures are written: never through a symlink, folders and
/// files made as the folder's owner, only regular files written.
@Suite struct CaptureDirectoryTests {
  let header = Pcapng.header(interfaces: [
    Pcapng.Interface(name: "core/h1", description: "test", snaplen: 65_535)
  ])

  func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-capdir-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// A file of the test's own that an attack would aim at.
  func target(in directory: String) throws -> (path: String, bytes: Data) {
    let path = directory + "/precious"
    let bytes = Data("not to be truncated\n".utf8)
    try bytes.write(to: URL(fileURLWithPath: path))
    return (path, bytes)
  }

  @Test func aSymlinkedFileIsRefusedAndItsTargetKept() throws {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let (precious, bytes) = try target(in: root)
    try FileManager.default.createDirectory(
      atPath: root + "/lab/captures", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      atPath: root + "/lab/captures/x.pcapng", withDestinationPath: precious)
    let directory = try CaptureDirectory.open(
      ownedDirectory: root + "/lab/captures", creatingMissing: true)
    #expect {
      _ = try FileCaptureOutput(directory: directory, name: "x.pcapng", ring: nil, header: header)
    } throws: { error in
      (error as? CaptureError)?.description
        == "refused \(root)/lab/captures/x.pcapng: it is a symbolic link (capture files never follow one)"
    }
    #expect(try Data(contentsOf: URL(fileURLWithPath: precious)) == bytes)
  }

  @Test func aSymlinkedDirectoryOnTheWayIsRefused() throws {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let (precious, bytes) = try target(in: root)
    try FileManager.default.createDirectory(
      atPath: root + "/elsewhere", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      atPath: root + "/lab", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      atPath: root + "/lab/captures", withDestinationPath: root)
    #expect {
      _ = try CaptureDirectory.open(ownedDirectory: root + "/lab/captures", creatingMissing: true)
    } throws: { error in
      (error as? CaptureError)?.description
        == "refused \(root)/lab/captures: \(root)/lab/captures is a symbolic link (capture paths never pass through one)"
    }
    // Deeper, where the missing folders would have been made through it.
    #expect(throws: CaptureError.self) {
      _ = try CaptureDirectory.open(
        ownedDirectory: root + "/lab/captures/new/deeper", creatingMissing: true)
    }
    #expect(!FileManager.default.fileExists(atPath: root + "/new"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: precious)) == bytes)
    _ = precious
  }

  @Test func missingFoldersAreMadeAndTheRingWritesInThem() throws {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let directory = try CaptureDirectory.open(
      ownedDirectory: root + "/a/b/c", creatingMissing: true)
    let file = try CaptureFile(
      directory: directory, name: "r.pcapng", ring: CaptureFile.Ring(files: 2, size: 200),
      header: header)
    #expect(file.files.count == 1 && file.files[0].hasPrefix(root + "/a/b/c/r_00001_"))
    #expect(
      try [UInt8](Data(contentsOf: URL(fileURLWithPath: file.files[0]))) == header)
    #expect(throws: CaptureError.self) {
      _ = try CaptureDirectory.open(ownedDirectory: root + "/x/y", creatingMissing: false)
    }
  }

  @Test func aFIFOInPlaceOfTheFileIsRefusedWithoutBlocking() throws {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    #expect(mkfifo(root + "/x.pcapng", 0o644) == 0)
    let directory = try CaptureDirectory.open(ownedDirectory: root, creatingMissing: false)
    #expect(throws: CaptureError.self) {
      _ = try CaptureFile(directory: directory, name: "x.pcapng", header: header)
    }
  }

  /// A directory owned by nobody (65534), like a user's lab folder.
  func nobodysDirectory() throws -> String {
    let path = try temporaryDirectory()
    #expect(chown(path, 65534, 65534) == 0)
    // Explicitly, whatever the umask the tests were started with.
    #expect(chmod(path, 0o755) == 0)
    return path
  }

  @Test(.enabled(if: geteuid() == 0, "needs root to act as another user"))
  func foldersAndFilesBelongToTheFoldersOwner() throws {
    let root = try nobodysDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let directory = try CaptureDirectory.open(
      ownedDirectory: root + "/captures/deep", creatingMissing: true)
    _ = try CaptureFile(directory: directory, name: "x.pcapng", header: header)
    for path in [root + "/captures", root + "/captures/deep", root + "/captures/deep/x.pcapng"] {
      var info = stat()
      #expect(stat(path, &info) == 0)
      #expect(info.st_uid == 65534 && info.st_gid == 65534, "\(path)")
    }
    // The thread is root again afterwards.
    var uid: uid_t = 1
    var gid: gid_t = 1
    pb_file_owner(&uid, &gid)
    #expect(uid == 0 && gid == 0)
  }

  @Test(.enabled(if: geteuid() == 0, "needs root to plant a hard link"))
  func aHardLinkToAFileTheOwnerCannotWriteIsRefused() throws {
    let root = try nobodysDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let outside = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: outside) }
    let (precious, bytes) = try target(in: outside)
    #expect(link(precious, root + "/x.pcapng") == 0)
    let directory = try CaptureDirectory.open(ownedDirectory: root, creatingMissing: false)
    #expect {
      _ = try CaptureFile(directory: directory, name: "x.pcapng", header: header)
    } throws: { error in
      (error as? CaptureError)?.description
        == "cannot write \(root)/x.pcapng: Permission denied"
    }
    #expect(try Data(contentsOf: URL(fileURLWithPath: precious)) == bytes)
  }

  @Test(.enabled(if: geteuid() == 0, "needs root to mount a small tmpfs"))
  func aFullDiskKeepsTheWholeBlocksThatFitAndNothingCut() throws {
    let root = try temporaryDirectory()
    try #require(mount("tmpfs", root, "tmpfs", 0, "size=16k") == 0)
    defer {
      umount2(root, Int32(MNT_DETACH))
      try? FileManager.default.removeItem(atPath: root)
    }
    let directory = try CaptureDirectory.open(ownedDirectory: root, creatingMissing: false)
    let file = try CaptureFile(directory: directory, name: "full.pcapng", header: header)
    let frame = [UInt8](repeating: 0xAB, count: 1000)
    let length = Pcapng.packetBlockLength(captured: frame.count)
    var blocks = [UInt8](repeating: 0, count: 40 * length)
    blocks.withUnsafeMutableBytes { buffer in
      frame.withUnsafeBytes { source in
        for index in 0..<40 {
          Pcapng.writePacketBlock(
            to: buffer.baseAddress! + index * length, interface: 0, timestamp: UInt64(index),
            direction: .inbound, frame: source.baseAddress!, captured: 1000, originalLength: 1000)
        }
      }
    }
    #expect(throws: CaptureError.self) { try blocks.withUnsafeBytes { try file.write(blocks: $0) } }
    let kept = file.lastWriteBlocks
    #expect(kept > 0 && kept < 40, "\(kept) blocks kept")
    let contents = try [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/full.pcapng")))
    #expect(contents.count == header.count + kept * length)
    let packets = contents.withUnsafeBytes {
      PcapngReader.packets(in: UnsafeRawBufferPointer(rebasing: $0[header.count...]))
    }
    #expect(packets.map(\.timestamp) == (0..<UInt64(kept)).map { $0 })
  }
}
