import Logging
import PatchbayControl
import PatchbayCore
import PatchbayTopology
import PatchbayWire
import Testing

@testable import PatchbayDatapath
@testable import PatchbayLab

/// The daemon's answers to status, fdb, nat and setRate, over a lab whose
/// datapath was built here: no TAP, no namespace, no socket, no root. The
/// datapath thread is not started, so each request runs on the test's thread.
@Suite struct LabDaemonTests {
  static let yaml = """
    name: e2labd
    switches:
      core:
        ports:
          h1: {rate: {ingress: 50mbit, burst: 64KiB}}
          h2: {}
          gw: {uplink: net}
          cable: {peer: edge/cable}
      edge:
        ports:
          cable: {peer: core/cable}
          h3: {rate: {egress-pps: 20kpps}}
    hosts:
      h1: {port: core/h1, address: 10.0.0.1/24, mac: "02:00:00:00:00:01"}
    uplinks:
      net:
        mode: nat
        interface: pbtest-none0
        address: 203.0.113.10/24
        gateway: 203.0.113.1
        inside: 10.0.0.254/24
        forward: ["tcp 8080 -> h1:80"]
    """

  /// A daemon over the lab of `yaml`: patch cables joined in-process, every
  /// other port and the NAT's NIC without a descriptor (nothing to read or write).
  static func daemon(logger: Logger = .silent) throws -> LabDaemon {
    let topology = try TopologyLoader.load(yaml: yaml, file: "/tmp/pbl/e2labd.yaml")
    var ports: [DatapathPort] = []
    var uplinks: [DatapathUplink] = []
    var warnings: [String] = []
    for (switchIndex, spec) in topology.switches.enumerated() {
      for (portIndex, port) in spec.ports.enumerated() {
        switch port.kind {
        case .peer(let other):
          let (peerSwitch, peerPort) = try Lab.position(of: other, in: topology)
          ports.append(
            DatapathPort(
              switchIndex: switchIndex, portIndex: portIndex, peerSwitchIndex: peerSwitch,
              peerPortIndex: peerPort))
        case .uplink(let name):
          let uplink = try #require(topology.uplinks.first { $0.name == name }?.nat)
          let configuration = try Lab.routerConfiguration(
            named: name, uplink, port: port.reference, in: topology, warnings: &warnings)
          uplinks.append(
            DatapathUplink(
              name: name, router: UplinkRouter(configuration: configuration),
              interface: uplink.interface, descriptor: -1, port: ports.count))
          ports.append(
            DatapathPort(router: uplinks.count - 1, switchIndex: switchIndex, portIndex: portIndex))
        default:
          ports.append(DatapathPort(descriptor: -1, switchIndex: switchIndex, portIndex: portIndex))
        }
      }
    }
    let datapath = try Datapath(
      bridges: try Lab.makeBridges(of: topology, ports: ports), ports: ports, routers: uplinks)
    for (global, port) in topology.switches.flatMap(\.ports).enumerated() {
      guard let rate = port.rate else { continue }
      datapath.setRateLimits(port: global, ingress: rate.ingressLimit, egress: rate.egressLimit)
    }
    let lab = Lab(
      topology: topology, paths: LabPaths(name: topology.name),
      datapath: DatapathGroup(workers: [datapath]), logger: logger)
    return LabDaemon(lab: lab, stopWriter: -1)
  }

  static func port(_ status: LabStatus?, _ switchIndex: Int, _ portIndex: Int) -> PortStatus? {
    status?.switches[switchIndex].ports[portIndex]
  }

  @Test func statusReportsEveryPortFromOneSnapshot() throws {
    let daemon = try Self.daemon()
    daemon.lab.datapath.perform { datapath in
      datapath.bridges[0].countTransmitted(byteCount: 1500, on: 1)
      datapath.bridges[0].countTransmitted(byteCount: 64, on: 1)
      _ = datapath.bridges[0].addStaticEntry(MACAddress("02:00:00:00:00:01")!, port: 0)
    }
    let response = daemon.handle(ControlRequest.status)
    #expect(response.ok)
    let status = try #require(response.status)
    #expect(status.name == "e2labd")
    #expect(status.topologyFile == "/tmp/pbl/e2labd.yaml")
    #expect(status.switches.map(\.name) == ["core", "edge"])
    #expect(
      status.switches.map { $0.ports.map(\.name) } == [
        ["core/h1", "core/h2", "core/gw", "core/cable"], ["edge/cable", "edge/h3"],
      ])
    #expect(status.switches[0].macCount == 1)
    #expect(
      status.switches[0].ports.map(\.kind) == ["tap", "tap", "uplink", "peer"])
    #expect(Self.port(status, 0, 0)?.rateLimit == "ingress 50mbit burst 64KiB")
    #expect(Self.port(status, 0, 0)?.attachedTo == "host h1")
    #expect(Self.port(status, 0, 1)?.rateLimit == "none")
    #expect(Self.port(status, 0, 1)?.txPackets == 2)
    #expect(Self.port(status, 0, 1)?.txBytes == 1564)
    #expect(Self.port(status, 0, 1)?.rxPackets == 0)
    #expect(Self.port(status, 0, 3)?.interface == "edge/cable")
    #expect(Self.port(status, 1, 1)?.rateLimit == "egress 20kpps")
    #expect(Self.port(status, 1, 1)?.queuedFrames == 0)
    #expect(status.hosts.map(\.name) == ["h1"])
    #expect(status.hosts.first?.address == "10.0.0.1/24")
    #expect(status.hosts.first?.namespace == "e2labd-h1")
  }

  @Test func statusCarriesDropsByReasonAndTableEvents() throws {
    let daemon = try Self.daemon()
    daemon.lab.datapath.perform { datapath in
      datapath.bridges[0].countRejected(.runt, byteCount: 10, on: 1)
      datapath.bridges[0].countRejected(.runt, byteCount: 12, on: 1)
      datapath.bridges[0].countRejected(.oversize, byteCount: 9_000, on: 1)
      datapath.bridges[0].countTransmitDrop(.rateLimited, on: 0)
    }
    let status = try #require(daemon.handle(.status).status)
    #expect(Self.port(status, 0, 1)?.drops == [.runt: 2, .oversize: 1])
    #expect(Self.port(status, 0, 1)?.txDrops == [:])
    #expect(Self.port(status, 0, 0)?.txDrops == [.rateLimited: 1])
    #expect(Self.port(status, 0, 0)?.drops == [:])
    #expect(status.switches.map(\.macEvents) == [MACEvents(), MACEvents()])
  }

  @Test func fdbListsTheTableAndRefusesAnUnknownSwitch() throws {
    let daemon = try Self.daemon()
    daemon.lab.datapath.perform { datapath in
      _ = datapath.bridges[1].addStaticEntry(MACAddress("02:00:00:00:00:33")!, vlan: 1, port: 1)
    }
    let all = daemon.handle(ControlRequest.fdb(switchName: nil))
    #expect(
      all.fdb == [
        FDBRecord(
          switchName: "edge", vlan: 1, mac: "02:00:00:00:00:33", port: "h3", ageSeconds: 0,
          type: "static")
      ])
    #expect(daemon.handle(ControlRequest.fdb(switchName: "core")).fdb == [])
    #expect(
      daemon.handle(ControlRequest.fdb(switchName: "spine"))
        == .failure("lab e2labd has no switch 'spine'"))
  }

  @Test func natReportsTheRouterItsForwardsAndZeroCounters() throws {
    let daemon = try Self.daemon()
    let response = daemon.handle(ControlRequest.nat)
    let uplink = try #require(response.uplinks?.first)
    #expect(response.uplinks?.count == 1)
    #expect(uplink.name == "net")
    #expect(uplink.mode == .nat)
    #expect(uplink.port == "core/gw")
    #expect(uplink.interface == "pbtest-none0")
    #expect(uplink.outsideAddress == "203.0.113.10/24")
    #expect(uplink.insideAddress == "10.0.0.254/24")
    #expect(uplink.gateway == "203.0.113.1")
    #expect(uplink.sessions == [])
    #expect(
      uplink.forwards == [
        NATForwardRecord(transport: "tcp", outsidePort: 8080, inside: "10.0.0.1:80")
      ])
    #expect(uplink.counters?.translatedOut == 0)
    #expect(uplink.counters?.nicSentFrames == 0)
    #expect(uplink.counters?.dhcp == nil)
    #expect(uplink.drops == [:])
  }

  @Test func setRateChangesOnePortAndStatusShowsIt() throws {
    let daemon = try Self.daemon()
    let changed = daemon.handle(
      ControlRequest.setRate(port: "core/h1", settings: ["egress=10mbit"]))
    #expect(changed == .success(message: "core/h1: rate ingress 50mbit egress 10mbit burst 64KiB"))
    let status = daemon.handle(ControlRequest.status).status
    #expect(Self.port(status, 0, 0)?.rateLimit == "ingress 50mbit egress 10mbit burst 64KiB")
    #expect(Self.port(status, 1, 1)?.rateLimit == "egress 20kpps")
    // The datapath's queues are the one record of the limits.
    let state = daemon.lab.snapshot().ports[0]
    #expect(state.ingress == RateLimit(bitsPerSecond: 50_000_000, burstBytes: 65_536))
    #expect(state.egress == RateLimit(bitsPerSecond: 10_000_000, burstBytes: 65_536))

    let lifted = daemon.handle(
      ControlRequest.setRate(port: "edge/h3", settings: ["off"]))
    #expect(lifted == .success(message: "edge/h3: rate none"))
    #expect(daemon.lab.snapshot().ports[5].egress == nil)
    #expect(
      Self.port(daemon.handle(ControlRequest.status).status, 1, 1)?.rateLimit == "none")
  }

  @Test func setRateRefusesUnknownPortsAndBadSettings() throws {
    let daemon = try Self.daemon()
    #expect(
      daemon.handle(ControlRequest.setRate(port: "core/h9", settings: ["off"]))
        == .failure("lab e2labd has no port 'core/h9' (ports are named SWITCH/PORT)"))
    #expect(
      daemon.handle(ControlRequest.setRate(port: "core/h1", settings: ["egress=fast"]))
        .error?.hasPrefix("core/h1: invalid egress 'fast': ") == true)
    #expect(
      daemon.handle(ControlRequest.setRate(port: "core/h1", settings: ["speed=1"]))
        == .failure(
          "core/h1: unknown rate setting 'speed'; use ingress, egress, burst, ingress-pps, egress-pps"
        ))
    // Nothing changed.
    #expect(
      Self.port(daemon.handle(ControlRequest.status).status, 0, 0)?.rateLimit
        == "ingress 50mbit burst 64KiB")
  }
}
