import Foundation
import Testing

@testable import PatchbayControl

/// A control request on the wire: the JSON each command has always been, and
/// the line a request short of a field is refused with.
@Suite struct ControlRequestCodingTests {
  static let capture = CaptureRequest(
    ports: ["core/h1", "core/h2"], filter: "icmp", snaplen: 262_144, direction: "both", count: 10)

  /// Each command's request and the bytes the CLI sends for it (keys sorted).
  static let wire: [(ControlRequest, String)] = [
    (.status, #"{"command":"status"}"#),
    (.fdb(switchName: nil), #"{"command":"fdb"}"#),
    (.fdb(switchName: "core"), #"{"command":"fdb","switchName":"core"}"#),
    (.shutdown, #"{"command":"shutdown"}"#),
    (.nat, #"{"command":"nat"}"#),
    (
      .setRate(port: "core/h1", settings: ["ingress=50mbit", "off"]),
      #"{"command":"setRate","port":"core\/h1","settings":["ingress=50mbit","off"]}"#
    ),
    (
      .capture(capture),
      #"{"capture":{"count":10,"direction":"both","filter":"icmp","ports":["core\/h1","core\/h2"],"snaplen":262144},"command":"capture"}"#
    ),
    (
      .capture(
        CaptureRequest(ports: ["a/b"], filter: nil, snaplen: 96, direction: "in", count: nil)),
      #"{"capture":{"direction":"in","ports":["a\/b"],"snaplen":96},"command":"capture"}"#
    ),
  ]

  @Test func everyCommandIsTheSameJSONAsBefore() throws {
    for (request, json) in Self.wire {
      #expect(ControlFraming.encodeRequest(request) == Array(json.utf8), "\(request)")
      #expect(try ControlFraming.parseRequest(Array(json.utf8)) == request, "\(json)")
    }
    #expect(Set(Self.wire.map(\.0.command)) == Set(ControlCommand.allCases))
  }

  @Test func requestsAsEarlierClientsSentThemStillDecode() throws {
    // A plain JSONEncoder put the keys in any order; the fuzz seeds have spaces.
    let sent: [(String, ControlRequest)] = [
      (#"{"switchName":"core","command":"fdb"}"#, .fdb(switchName: "core")),
      (
        #"{"port":"core\/h1","settings":["ingress=50mbit","off"],"command":"setRate"}"#,
        .setRate(port: "core/h1", settings: ["ingress=50mbit", "off"])
      ),
      (
        #"{"command": "capture", "capture": {"ports": ["core/h1", "core/h2"], "filter": "icmp", "snaplen": 262144, "direction": "both", "count": 10}}"#,
        .capture(Self.capture)
      ),
      (#"{"command": "status"}"#, .status),
      // A key the command does not take is ignored, as an unknown key always was.
      (#"{"command":"nat","switchName":"core","extra":1}"#, .nat),
      (#"{"command":"fdb","switchName":null}"#, .fdb(switchName: nil)),
    ]
    for (json, request) in sent {
      #expect(try ControlFraming.parseRequest(Array(json.utf8)) == request, "\(json)")
    }
  }

  @Test func aRequestShortOfAFieldIsRefusedWithTheDaemonsLine() {
    let refused: [(String, String)] = [
      (#"{"command":"setRate","settings":["off"]}"#, "setRate needs a port"),
      (#"{"command":"setRate","port":"core/h1"}"#, "setRate needs settings"),
      (#"{"command":"setRate"}"#, "setRate needs a port"),
      (#"{"command":"setRate","port":null,"settings":["off"]}"#, "setRate needs a port"),
      (#"{"command":"capture"}"#, "malformed capture request"),
      (#"{"command":"capture","capture":null}"#, "malformed capture request"),
      // Not a missing field: malformed, as before.
      (#"{"command":"setRate","port":5,"settings":["off"]}"#, "malformed control request"),
      (#"{"command":"capture","capture":{"ports":[]}}"#, "malformed control request"),
      (#"{"command":"reboot"}"#, "malformed control request"),
      (#"{"switchName":"core"}"#, "malformed control request"),
      (#"["status"]"#, "malformed control request"),
    ]
    for (json, message) in refused {
      let error = #expect(throws: ControlError.self, "\(json)") {
        try ControlFraming.parseRequest(Array(json.utf8))
      }
      #expect(error?.description == message, "\(json)")
      #expect(ControlFraming.decodeRequest(Array(json.utf8)) == nil, "\(json)")
    }
  }
}
