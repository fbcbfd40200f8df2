import CLinuxNet
import Foundation
import Glibc
import Synchronization
import Testing

@testable import PatchbayControl

/// Neither side of the control socket can hold the other: deadlines on both
/// ends, and an accept loop that outlives running out of descriptors.
@Suite(.serialized) struct ControlSocketDeadlineTests {
  func temporarySocketPath() -> String {
    "/tmp/pb-ctl-\(UUID().uuidString.prefix(8)).sock"
  }

  /// Connects the existing socket `fd` to `path` (no new descriptor needed).
  func rawConnect(_ fd: Int32, to path: String) -> Int32 {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
      for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
    }
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
  }

  func seconds(since start: Date) -> Double { Date().timeIntervalSince(start) }

  /// Set in the child that runs one test alone.
  static let aloneVariable = "PATCHBAY_TEST_ALONE"

  /// Runs test `name` alone in a new process of this test binary; its exit
  /// status and output.
  static func runAlone(_ name: String) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(
      fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    process.arguments = ["--testing-library", "swift-testing", "--filter", name]
    process.environment = ProcessInfo.processInfo.environment.merging([aloneVariable: "1"]) {
      $1
    }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  @Test func theClientGivesUpOnADaemonThatNeverAnswers() throws {
    // A daemon stopped with SIGSTOP: its socket listens, nothing accepts.
    let path = temporarySocketPath()
    let listener = pb_unix_listen(path, 1)
    try #require(listener >= 0)
    defer {
      close(listener)
      unlink(path)
    }
    let start = Date()
    #expect(throws: ControlError.self) {
      _ = try ControlClient.send(ControlRequest.status, to: path, timeout: 1)
    }
    #expect(seconds(since: start) < 2.5, "the client waited \(seconds(since: start)) s")

    // With its backlog full, connecting itself would block for ever.
    var queued: [Int32] = []
    defer { for fd in queued { close(fd) } }
    for _ in 0..<8 {
      let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
      queued.append(fd)
      if rawConnect(fd, to: path) != 0 { break }
    }
    let again = Date()
    #expect(throws: ControlError.self) {
      _ = try ControlClient.send(ControlRequest.status, to: path, timeout: 1)
    }
    #expect(seconds(since: again) < 2.5, "the client waited \(seconds(since: again)) s")
  }

  @Test func aClientTricklingItsRequestCannotHoldTheServer() throws {
    let path = temporarySocketPath()
    let server = try ControlServer(path: path, ioTimeout: 1) { _ in .success(message: "served") }
    server.start()
    defer { server.stop() }
    // One byte every 200 ms: each read is quick, the request never ends.
    let slow = connectUnix(path, until: IODeadline(after: 2))
    try #require(slow >= 0)
    defer { close(slow) }
    let trickle = Thread {
      for _ in 0..<25 {
        var byte = UInt8(ascii: " ")
        if send(slow, &byte, 1, Int32(MSG_NOSIGNAL)) != 1 { return }
        usleep(200_000)
      }
    }
    trickle.start()
    usleep(300_000)
    let start = Date()
    let response = try ControlClient.send(ControlRequest.status, to: path, timeout: 4)
    #expect(seconds(since: start) < 2.5, "the second client waited \(seconds(since: start)) s")
    if geteuid() == 0 {
      #expect(response.message == "served")
    }
  }

  @Test func acceptSurvivesRunningOutOfDescriptors() throws {
    // A lowered RLIMIT_NOFILE starves every thread of the process, and other
    // suites run beside this one: the test runs alone, in a child of this binary.
    guard ProcessInfo.processInfo.environment[Self.aloneVariable] != nil else {
      let child = try Self.runAlone("acceptSurvivesRunningOutOfDescriptors")
      #expect(child.status == 0, "\(child.output)")
      #expect(
        child.output.contains("acceptSurvivesRunningOutOfDescriptors() passed"), "\(child.output)")
      return
    }
    let path = temporarySocketPath()
    let server = try ControlServer(path: path) { _ in .success(message: "served") }
    server.start()
    defer { server.stop() }
    var original = rlimit()
    try #require(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &original) == 0)
    var sawEMFILE = false
    // Another thread may free a descriptor while the limit is low, and then
    // accept succeeds; a few tries see it fail.
    for _ in 0..<5 where !sawEMFILE {
      let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      try #require(client >= 0)
      defer { close(client) }
      let before = server.acceptFailures.load(ordering: .relaxed)
      // With the limit at the lowest free descriptor, every new one fails (EMFILE).
      let lowest = dup(0)
      close(lowest)
      var lowered = original
      lowered.rlim_cur = rlim_t(lowest)
      try #require(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered) == 0)
      let connected = rawConnect(client, to: path)
      let deadline = Date().addingTimeInterval(2)
      while server.acceptFailures.load(ordering: .relaxed) == before && Date() < deadline {
        usleep(1_000)
      }
      #expect(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &original) == 0)
      try #require(connected == 0)
      sawEMFILE = server.acceptFailures.load(ordering: .relaxed) > before
      // The connection that waited in the backlog is served once descriptors are back.
      let request = try JSONEncoder().encode(ControlRequest.status)
      #expect(writeAll(Array(request), to: client, until: IODeadline(after: 3)))
      shutdown(client, Int32(SHUT_WR))
      let answer = readAll(from: client, until: IODeadline(after: 3)).flatMap {
        ControlFraming.decodeResponse($0)
      }
      #expect(answer != nil, "the waiting client got no answer")
    }
    #expect(sawEMFILE, "accept never hit EMFILE")
    // ...and so is a new client.
    let response = try ControlClient.send(ControlRequest.status, to: path)
    #expect(geteuid() != 0 || response.message == "served")
  }
}
