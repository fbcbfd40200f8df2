import Foundation
import Synchronization
import Testing

@testable import PatchbayControl

@Suite struct ControlSocketTests {
  func temporarySocketPath() -> String {
    "/tmp/pb-ctl-\(UUID().uuidString.prefix(8)).sock"
  }

  @Test func requestAndResponseRoundTrip() throws {
    let path = temporarySocketPath()
    let server = try ControlServer(path: path) { request in
      switch request {
      case .fdb(let switchName):
        return .success(fdb: [
          FDBRecord(
            switchName: switchName ?? "?", vlan: 1, mac: "02:00:00:00:00:01", port: "h1",
            ageSeconds: 1.5, type: "learned")
        ])
      default:
        return .failure("unexpected \(request.command)")
      }
    }
    server.start()
    defer { server.stop() }

    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)

    let response = try ControlClient.send(
      ControlRequest.fdb(switchName: "core"), to: path)
    if geteuid() == 0 {
      #expect(response.ok)
      #expect(response.fdb?.first?.switchName == "core")
      #expect(response.fdb?.first?.ageSeconds == 1.5)
      let refused = try ControlClient.send(ControlRequest.status, to: path)
      #expect(refused == .failure("unexpected status"))
    } else {
      // Non-root peers are refused even if they can reach the socket.
      #expect(response == .failure("permission denied: only root may control a lab"))
    }
  }

  /// The process's umask as the kernel shows it, e.g. 0o022.
  static func processUmask() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Umask:") })
    else { return nil }
    return Int(line.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces), radix: 8)
  }

  /// Binding never narrows the process-wide umask, not even for a moment: it
  /// once did, and folders other threads made meanwhile (a capture's, as the
  /// folder's owner) came out without search rights.
  @Test func bindingLeavesTheProcesssUmaskAlone() throws {
    let before = try #require(Self.processUmask())
    let watch = UmaskWatch()
    let watcher = Thread {
      while !watch.stop.load(ordering: .acquiring) {
        if Self.processUmask() != before { watch.changed.store(true, ordering: .relaxed) }
      }
      watch.finished.signal()
    }
    watcher.start()
    for _ in 0..<150 {
      let path = temporarySocketPath()
      let server = try ControlServer(path: path) { _ in .failure("unused") }
      server.start()
      let attributes = try FileManager.default.attributesOfItem(atPath: path)
      #expect((attributes[.posixPermissions] as? Int) == 0o600)
      server.stop()
    }
    watch.stop.store(true, ordering: .releasing)
    watch.finished.wait()
    let changed = watch.changed.load(ordering: .relaxed)
    #expect(!changed, "the umask changed while sockets were bound")
  }

  @Test func stopRemovesTheSocket() throws {
    let path = temporarySocketPath()
    let server = try ControlServer(path: path) { _ in .success() }
    server.start()
    server.stop()
    #expect(!FileManager.default.fileExists(atPath: path))
    #expect(throws: ControlError.self) {
      _ = try ControlClient.send(ControlRequest.status, to: path)
    }
  }

  /// Sends `text` as it is, not through `ControlClient`, and decodes the answer.
  func exchange(raw text: String, with path: String) throws -> ControlResponse {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
      for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
    }
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    #expect(connected == 0)
    _ = text.withCString { write(fd, $0, strlen($0)) }
    shutdown(fd, Int32(SHUT_WR))
    let bytes = readAll(from: fd) ?? []
    return try JSONDecoder().decode(ControlResponse.self, from: Data(bytes))
  }

  @Test func malformedRequestsGetAnErrorNotACrash() throws {
    let path = temporarySocketPath()
    let server = try ControlServer(path: path) { _ in .success() }
    server.start()
    defer { server.stop() }
    let response = try exchange(raw: "{not json", with: path)
    #expect(response.ok == false)
    #expect(
      response.error
        == (geteuid() == 0
          ? "malformed control request" : "permission denied: only root may control a lab"))
  }

  @Test func aRequestShortOfAFieldIsAnsweredWithWhatItLacks() throws {
    guard geteuid() == 0 else { return }  // Non-root peers are refused before any of this.
    let path = temporarySocketPath()
    let called = CalledFlag()
    let server = try ControlServer(path: path) { _ in
      called.set()
      return .success()
    }
    server.start()
    defer { server.stop() }
    #expect(
      try exchange(raw: #"{"command":"setRate","settings":["off"]}"#, with: path)
        == .failure("setRate needs a port"))
    #expect(
      try exchange(raw: #"{"command":"setRate","port":"core/h1"}"#, with: path)
        == .failure("setRate needs settings"))
    #expect(
      try exchange(raw: #"{"command":"capture"}"#, with: path)
        == .failure("malformed capture request"))
    #expect(
      try exchange(raw: #"{"command":"reboot"}"#, with: path)
        == .failure("malformed control request"))
    #expect(!called.isSet)
  }

  @Test func messagesEncodeAsDocumentedJSON() throws {
    let data = try JSONEncoder().encode(ControlRequest.fdb(switchName: "core"))
    let object = try JSONSerialization.jsonObject(with: data) as? [String: String]
    #expect(object == ["command": "fdb", "switchName": "core"])
  }
}

/// What the test and its umask-watching thread share.
private final class UmaskWatch: Sendable {
  let stop = Atomic<Bool>(false)
  let changed = Atomic<Bool>(false)
  let finished = DispatchSemaphore(value: 0)
}
