import Foundation
import Testing

@testable import PatchbayControl

/// Every field of a control request is checked in the daemon before it acts.
/// (A request short of a field is refused as it is decoded: ControlRequestCodingTests.)
@Suite struct ControlRequestValidationTests {
  static func capture(
    ports: [String] = ["core/h1"], filter: String? = nil, snaplen: Int = 262_144,
    direction: String = "both", count: Int? = nil
  ) -> ControlRequest {
    .capture(
      CaptureRequest(
        ports: ports, filter: filter, snaplen: snaplen, direction: direction, count: count))
  }

  @Test func wellFormedRequestsPass() {
    let requests = [
      ControlRequest.status, ControlRequest.shutdown,
      ControlRequest.nat, ControlRequest.fdb(switchName: "core"),
      ControlRequest.setRate(port: "core/h1", settings: ["ingress=50mbit", "off"]),
      Self.capture(filter: "icmp and\n host 10.0.0.1", snaplen: 64, direction: "in", count: 10),
    ]
    for request in requests { #expect(request.validationProblem == nil, "\(request)") }
  }

  @Test func outOfBoundsFieldsAreRefusedWithOneLine() {
    let long = String(repeating: "a", count: 200)
    let cases: [(ControlRequest, String)] = [
      (ControlRequest.fdb(switchName: ""), "empty switch name"),
      (
        ControlRequest.fdb(switchName: long),
        "switch name '\(String(repeating: "a", count: 32))...' is longer than 64 bytes"
      ),
      (
        ControlRequest.fdb(switchName: "co\u{1B}[2Jre"),
        "invalid switch name 'co\\x1B[2Jre': it holds control characters"
      ),
      (
        ControlRequest.setRate(port: "core/h1", settings: Array(repeating: "off", count: 17)),
        "too many settings (17; at most 16)"
      ),
      (
        ControlRequest.setRate(port: "core/h1", settings: ["ingress=" + long]),
        "setting 'ingress=aaaaaaaaaaaaaaaaaaaaaaaa...' is longer than 64 bytes"
      ),
      (Self.capture(ports: []), "a capture needs at least one port"),
      (
        Self.capture(ports: Array(repeating: "core/h1", count: 65)),
        "too many ports (65; at most 64)"
      ),
      (
        Self.capture(ports: [long + "/" + long]),
        "port '\(String(repeating: "a", count: 32))...' is longer than 129 bytes"
      ),
      (
        Self.capture(filter: String(repeating: "icmp or ", count: 600)),
        "filter is longer than 4096 bytes"
      ),
      (Self.capture(filter: "icmp\u{0}"), "invalid filter: it holds control characters"),
      (Self.capture(snaplen: 0), "invalid snaplen 0: must be from 1 to 262144"),
      (Self.capture(snaplen: -5), "invalid snaplen -5: must be from 1 to 262144"),
      (Self.capture(snaplen: Int.max), "invalid snaplen \(Int.max): must be from 1 to 262144"),
      (Self.capture(direction: "sideways"), "invalid direction 'sideways': use in, out or both"),
      (Self.capture(count: 0), "invalid count 0: must be from 1 to 1099511627776"),
      (Self.capture(count: Int.min), "invalid count \(Int.min): must be from 1 to 1099511627776"),
    ]
    for (request, message) in cases {
      #expect(request.validationProblem == message, "\(request)")
    }
  }

  @Test func theServerAnswersAnInvalidRequestWithoutCallingItsHandler() throws {
    guard geteuid() == 0 else { return }  // Non-root peers are refused before any of this.
    let path = "/tmp/pb-ctl-\(UUID().uuidString.prefix(8)).sock"
    let called = CalledFlag()
    let server = try ControlServer(path: path) { _ in
      called.set()
      return .success()
    }
    server.start()
    defer { server.stop() }
    let response = try ControlClient.send(Self.capture(snaplen: 1 << 40), to: path)
    #expect(response == .failure("invalid snaplen 1099511627776: must be from 1 to 262144"))
    let bad = try ControlClient.send(
      ControlRequest.setRate(port: "core/\u{1B}c", settings: []), to: path)
    #expect(bad == .failure("invalid port 'core/\\x1Bc': it holds control characters"))
    #expect(!called.isSet)
  }
}

/// Whether a handler ran, readable from the test's thread.
final class CalledFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false
  func set() { lock.withLock { value = true } }
  var isSet: Bool { lock.withLock { value } }
}
