import Foundation
import PatchbayCore
import Testing

@testable import PatchbayControl

/// The typed counters of `status`, `nat` and their JSON: the same keys and
/// values as the dictionaries they replaced (the expected JSON below is what
/// those wrote), so `status --json` and `nat --json` are unchanged.
@Suite struct StatusCountersTests {
  /// Encoded as `--json` does (sorted keys), without the pretty-printing.
  static func json(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return String(decoding: try encoder.encode(value), as: UTF8.self)
  }

  static func decoded<Value: Decodable>(_ type: Value.Type, _ json: String) throws -> Value {
    try JSONDecoder().decode(type, from: Data(json.utf8))
  }

  @Test func aSwitchAndItsPortsEncodeAsBefore() throws {
    let port = PortStatus(
      name: "core/h1", kind: "tap", interface: "e2ctl-h1", attachedTo: "host h1", state: "up",
      vlanMode: "access 1", rateLimit: "none", rxPackets: 7, rxBytes: 700, txPackets: 3,
      txBytes: 300, forwarded: 2, flooded: 1, drops: [.runt: 3, .ipGuard: 1],
      txDrops: [.rateLimited: 2])
    let status = SwitchStatus(
      name: "core", macCount: 1, macTableSize: 4096, macAgingSeconds: 300,
      macEvents: MACEvents(learned: 4, moved: 1, expired: 2), ports: [port])
    let expected =
      #"{"macAgingSeconds":300,"macCount":1,"macEvents":{"evicted":0,"expired":2,"flushed":0,"learned":4,"moved":1},"macTableSize":4096,"name":"core","ports":[{"attachedTo":"host h1","drops":{"ip-guard":1,"runt":3},"flooded":1,"forwarded":2,"interface":"e2ctl-h1","kind":"tap","linkDowns":0,"name":"core\/h1","offloads":true,"queuedFrames":0,"rateLimit":"none","rxBitsPerSecond":0,"rxBytes":700,"rxPackets":7,"rxPacketsPerSecond":0,"state":"up","txBitsPerSecond":0,"txBytes":300,"txDrops":{"rate-limited":2},"txPackets":3,"txPacketsPerSecond":0,"vlanMode":"access 1"}]}"#
    #expect(try Self.json(status) == expected)
    #expect(try Self.decoded(SwitchStatus.self, expected) == status)
  }

  @Test func aPortWithoutDropsHasEmptyObjects() throws {
    let port = PortStatus(
      name: "core/h2", kind: "tap", interface: "e2ctl-h2", attachedTo: nil, state: "down",
      vlanMode: "access 1", rateLimit: "none", rxPackets: 0, rxBytes: 0, txPackets: 0,
      txBytes: 0, flooded: 0, drops: [:])
    let expected =
      #"{"drops":{},"flooded":0,"forwarded":0,"interface":"e2ctl-h2","kind":"tap","linkDowns":0,"name":"core\/h2","offloads":true,"queuedFrames":0,"rateLimit":"none","rxBitsPerSecond":0,"rxBytes":0,"rxPackets":0,"rxPacketsPerSecond":0,"state":"down","txBitsPerSecond":0,"txBytes":0,"txDrops":{},"txPackets":0,"txPacketsPerSecond":0,"vlanMode":"access 1"}"#
    #expect(try Self.json(port) == expected)
    #expect(try Self.decoded(PortStatus.self, expected) == port)
  }

  static func natCounters() -> NATCounters {
    var counters = NATCounters()
    counters.sessionsCreated = 5
    counters.sessionsExpired = 1
    counters.translatedOut = 40
    counters.translatedIn = 38
    counters.answered = 2
    counters.neighboursInside = 1
    counters.neighboursOutside = 1
    counters.nicSentFrames = 40
    counters.nicSentBytes = 4000
    counters.nicReceivedFrames = 39
    return counters
  }

  @Test func aNATUplinkEncodesAsBefore() throws {
    let record = UplinkRecord(
      name: "net", mode: .nat, port: "core/gw", interface: "eth9",
      outsideAddress: "203.0.113.10/24", outsideMAC: "02:00:00:00:00:fe",
      insideAddress: "10.0.0.254/24", insideMAC: "02:00:00:00:00:fd", gateway: "203.0.113.1",
      maxSessions: 1024, counters: Self.natCounters(), drops: [.unsolicited: 8, .portsExhausted: 1])
    let expected =
      #"{"counters":{"answered":2,"icmp-errors-translated":0,"ignored":0,"neighbours-evicted":0,"neighbours-inside":1,"neighbours-outside":1,"nic-received-frames":39,"nic-send-failures":0,"nic-sent-bytes":4000,"nic-sent-frames":40,"sessions-created":5,"sessions-evicted":0,"sessions-expired":1,"translated-in":38,"translated-out":40},"drops":{"ports-exhausted":1,"unsolicited":8},"forwards":[],"gateway":"203.0.113.1","insideAddress":"10.0.0.254\/24","insideMAC":"02:00:00:00:00:fd","interface":"eth9","leases":[],"maxSessions":1024,"mode":"nat","name":"net","outsideAddress":"203.0.113.10\/24","outsideMAC":"02:00:00:00:00:fe","port":"core\/gw","sessions":[]}"#
    #expect(try Self.json(record) == expected)
    #expect(try Self.decoded(UplinkRecord.self, expected) == record)
  }

  @Test func aDHCPServersCountersJoinTheSameObject() throws {
    var counters = Self.natCounters()
    var dhcp = DHCPCounters()
    dhcp.discovers = 1
    dhcp.offers = 1
    dhcp.requests = 2
    dhcp.acks = 2
    counters.dhcp = dhcp
    let record = UplinkRecord(
      name: "net", mode: .nat, port: "core/gw", maxSessions: 16, counters: counters)
    let expected =
      #"{"counters":{"answered":2,"dhcp-acks":2,"dhcp-discovers":1,"dhcp-naks":0,"dhcp-offers":1,"dhcp-pool-exhausted":0,"dhcp-requests":2,"icmp-errors-translated":0,"ignored":0,"neighbours-evicted":0,"neighbours-inside":1,"neighbours-outside":1,"nic-received-frames":39,"nic-send-failures":0,"nic-sent-bytes":4000,"nic-sent-frames":40,"sessions-created":5,"sessions-evicted":0,"sessions-expired":1,"translated-in":38,"translated-out":40},"drops":{},"forwards":[],"leases":[],"maxSessions":16,"mode":"nat","name":"net","port":"core\/gw","sessions":[]}"#
    #expect(try Self.json(record) == expected)
    #expect(try Self.decoded(UplinkRecord.self, expected) == record)
  }

  @Test func aBridgedUplinkHasNoCountersAndAnEmptyObject() throws {
    let record = UplinkRecord(name: "lan", mode: .bridge, port: "core/up", interface: "eth1")
    let expected =
      #"{"counters":{},"drops":{},"forwards":[],"interface":"eth1","leases":[],"mode":"bridge","name":"lan","port":"core\/up","sessions":[]}"#
    #expect(record.counters == nil)
    #expect(try Self.json(record) == expected)
    #expect(try Self.decoded(UplinkRecord.self, expected) == record)
  }

  @Test func aHostOnlyUplinksModeIsItsTopologyName() throws {
    let record = UplinkRecord(
      name: "mgmt", mode: .hostOnly, port: "core/mgmt", interface: "lab1-mgmt",
      insideAddress: "10.9.0.1/24")
    let expected =
      #"{"counters":{},"drops":{},"forwards":[],"insideAddress":"10.9.0.1\/24","interface":"lab1-mgmt","leases":[],"mode":"host-only","name":"mgmt","port":"core\/mgmt","sessions":[]}"#
    #expect(try Self.json(record) == expected)
    #expect(try Self.decoded(UplinkRecord.self, expected) == record)
    // A mode the client does not know is refused, not shown as something else.
    let unknown = expected.replacingOccurrences(of: "host-only", with: "tunnel")
    #expect(throws: DecodingError.self) { try Self.decoded(UplinkRecord.self, unknown) }
  }

  @Test func dropCountsKeepOnlyNonZeroReasons() throws {
    var drops = DropCounts<DropReason>([
      (reason: .runt, count: 0), (reason: .oversize, count: 2), (reason: .oversize, count: 1),
    ])
    #expect(drops.counts == [.oversize: 3])
    #expect(drops[.runt] == 0)
    drops[.oversize] = 0
    #expect(drops.isEmpty)
    let decoded = try Self.decoded(DropCounts<DropReason>.self, #"{"runt":0,"tx-failed":4}"#)
    #expect(decoded == [.transmitFailed: 4])
    #expect(decoded.byName.map(\.name) == ["tx-failed"])
    let listed: DropCounts<DropReason> = [.samePort: 1, .badOffload: 2]
    #expect(listed.byName.map(\.name) == ["bad-offload", "same-port"])
    #expect(listed.byName.map(\.count) == [2, 1])
  }

  @Test func aDropReasonNoOneHasIsMalformed() {
    #expect(throws: DecodingError.self) {
      try Self.decoded(DropCounts<DropReason>.self, #"{"sideways":1}"#)
    }
    #expect(throws: DecodingError.self) {
      try Self.decoded(DropCounts<NATDropReason>.self, #"{"runt":1}"#)
    }
    #expect(throws: DecodingError.self) {
      try Self.decoded(DropCounts<DropReason>.self, #"{"runt":-1}"#)
    }
  }
}
