import Foundation
import Testing

@testable import PatchbayControl

@Suite struct ControlSocketTests {
  func temporarySocketPath() -> String {
    "/tmp/pb-ctl-\(UUID().uuidString.prefix(8)).sock"
  }

  @Test func requestAndResponseRoundTrip() throws {
    let path = temporarySocketPath()
    let server = try ControlServer(path: path) { request in
      switch request.command {
      case .fdb:
        return .success(fdb: [
          FDBRecord(
            switchName: request.switchName ?? "?", vlan: 1, mac: "02:00:00:00:00:01", port: "h1",
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
      ControlRequest(command: .fdb, switchName: "core"), to: path)
    if geteuid() == 0 {
      #expect(response.ok)
      #expect(response.fdb?.first?.switchName == "core")
      #expect(response.fdb?.first?.ageSeconds == 1.5)
      let refused = try ControlClient.send(ControlRequest(command: .status), to: path)
      #expect(refused == .failure("unexpected status"))
    } else {
      // Non-root peers are refused even if they can reach the socket.
      #expect(response == .failure("permission denied: only root may control a lab"))
    }
  }

  @Test func stopRemovesTheSocket() throws {
    let path = temporarySocketPath()
    let server = try ControlServer(path: path) { _ in .success() }
    server.start()
    server.stop()
    #expect(!FileManager.default.fileExists(atPath: path))
    #expect(throws: ControlError.self) {
      _ = try ControlClient.send(ControlRequest(command: .status), to: path)
    }
  }

  @Test func malformedRequestsGetAnErrorNotACrash() throws {
    let path = temporarySocketPath()
    let server = try ControlServer(path: path) { _ in .success() }
    server.start()
    defer { server.stop() }
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
    _ = "{not json".withCString { write(fd, $0, 9) }
    shutdown(fd, Int32(SHUT_WR))
    let bytes = readAll(from: fd) ?? []
    let response = try JSONDecoder().decode(ControlResponse.self, from: Data(bytes))
    #expect(response.ok == false)
    #expect(
      response.error
        == (geteuid() == 0
          ? "malformed control request" : "permission denied: only root may control a lab"))
  }

  @Test func messagesEncodeAsDocumentedJSON() throws {
    let data = try JSONEncoder().encode(ControlRequest(command: .fdb, switchName: "core"))
    let object = try JSONSerialization.jsonObject(with: data) as? [String: String]
    #expect(object == ["command": "fdb", "switchName": "core"])
  }
}
