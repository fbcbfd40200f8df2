import PatchbayTopology
import Testing

/// Two switches joined by a peer cable, with a host, a VM, an uplink, an attached interface and
/// a TAP whose name needs quoting.
let graphLab = """
  name: g1
  switches:
    core:
      ports:
        vm1: {}
        vm2: {attach: vnet7, trunk: [10, 20], native-vlan: 10}
        wan: {uplink: net, vlan: 10}
        isl: {peer: dist/isl, trunk: all}
    dist:
      ports:
        isl: {peer: core/isl, trunk: all}
        vm3: {}
        spare: {tap: 'sp"are'}
  hosts:
    h1: {port: core/vm1, address: 10.0.10.11/24}
  vms:
    vm3: {port: dist/vm3, disk: d.qcow2}
  uplinks:
    net: {mode: nat, interface: eth0, address: 192.0.2.10/24, inside: 10.0.10.1/24}
  """

@Suite struct TopologyGraphTests {
  @Test func dot() throws {
    let topology = try #require(load(graphLab))
    #expect(
      topology.graph(format: .dot) == #"""
        graph "g1" {
          rankdir=LR;
          "switch:core" [label="core", shape=box, style=bold];
          "switch:dist" [label="dist", shape=box, style=bold];
          "host:h1" [label="h1\n10.0.10.11/24", shape=ellipse];
          "vm:vm3" [label="vm3", shape=component];
          "uplink:net" [label="net\nnat eth0", shape=hexagon];
          "attach:vnet7" [label="attach vnet7", shape=note];
          "tap:sp\"are" [label="tap sp\"are", shape=note];
          "switch:core" -- "host:h1" [label="vm1"];
          "switch:core" -- "attach:vnet7" [label="vm2\ntrunk 10,20 native 10"];
          "switch:core" -- "uplink:net" [label="wan\nvlan 10"];
          "switch:core" -- "switch:dist" [label="isl -- isl\ntrunk all"];
          "switch:dist" -- "vm:vm3" [label="vm3"];
          "switch:dist" -- "tap:sp\"are" [label="spare"];
        }

        """#)
  }

  @Test func mermaid() throws {
    let topology = try #require(load(graphLab))
    #expect(
      topology.graph(format: .mermaid) == """
        graph LR
          n0["core"]
          n1["dist"]
          n2(["h1<br/>10.0.10.11/24"])
          n3[["vm3"]]
          n4{{"net<br/>nat eth0"}}
          n5[/"attach vnet7"/]
          n6[/"tap sp#quot;are"/]
          n0 ---|"vm1"| n2
          n0 ---|"vm2<br/>trunk 10,20 native 10"| n5
          n0 ---|"wan<br/>vlan 10"| n4
          n0 ---|"isl -- isl<br/>trunk all"| n1
          n1 ---|"vm3"| n3
          n1 ---|"spare"| n6

        """)
  }

  @Test func peerCableWithDifferentVLANsAtEachEndShowsBoth() throws {
    let topology = try #require(
      load(
        """
        name: g2
        switches:
          a: {ports: {x: {peer: b/y, trunk: [10]}}}
          b: {ports: {y: {peer: a/x, vlan: 10}}}
        """))
    #expect(
      topology.graph(format: .dot).split(separator: "\n").filter { $0.contains(" -- ") } == [
        #"  "switch:a" -- "switch:b" [label="x -- y\ntrunk 10 / vlan 10"];"#
      ])
  }

  @Test func formatsAreNamedAsTheCommandLineTakesThem() {
    #expect(GraphFormat.allCases.map(\.rawValue) == ["dot", "mermaid"])
  }
}
