import Foundation
import PatchbayTopology
import PatchbayWire
import Testing

@Suite struct TopologySummaryTests {
  @Test func summaryOfASmallLab() throws {
    let topology = try #require(load(graphLab))
    #expect(
      topology.summary
        == """
        lab g1 (lab.yaml)
        switch core: 4 ports
          vm1: tap g1-vm1
          vm2: attach vnet7, trunk 10,20 native 10
          wan: uplink net, vlan 10
          isl: peer dist/isl, trunk all
        switch dist: 3 ports
          isl: peer core/isl, trunk all
          vm3: tap g1-vm3
          spare: tap sp"are
        hosts:
          h1 on core/vm1, 10.0.10.11/24, mac 02:2d:00:bc:6e:66 (derived)
        vms:
          vm3 on dist/vm3, disk d.qcow2, 256MiB, 1 cpu, mac VMMAC (derived)
        vms: 1, uplinks: 1, captures: 0, mirrors: 0
        """.replacingOccurrences(
          of: "VMMAC", with: topology.macAddress(of: topology.vms[0], nic: 0).description))
  }

  @Test func busyPollAdaptsByDefaultAndShowsWhenSet() throws {
    let plain = try #require(load("name: bp1\nswitches:\n  core: {}\n"))
    #expect(plain.busyPoll == .microseconds(200) && plain.adaptsBusyPoll)
    #expect(plain.summary.hasPrefix("lab bp1 (lab.yaml)\n"))
    let auto = try #require(load("name: bp0\nbusy-poll: auto\nswitches:\n  core: {}\n"))
    #expect(auto.busyPoll == .microseconds(200) && auto.adaptsBusyPoll)
    #expect(auto.summary.hasPrefix("lab bp0 (lab.yaml)\n"))
    let off = try #require(load("name: bp2\nbusy-poll: 0s\nswitches:\n  core: {}\n"))
    #expect(off.busyPoll == .zero && !off.adaptsBusyPoll)
    #expect(off.summary.hasPrefix("lab bp2 (lab.yaml), busy-poll off\n"))
    let longer = try #require(load("name: bp3\nbusy-poll: 250ms\nswitches:\n  core: {}\n"))
    #expect(longer.busyPoll == .milliseconds(250) && !longer.adaptsBusyPoll)
    #expect(longer.summary.hasPrefix("lab bp3 (lab.yaml), busy-poll 250ms\n"))
  }

  @Test func datapathThreadsShowWhenSetAndRefuseWhatIsOutOfRange() throws {
    let plain = try #require(load("name: dt1\nswitches:\n  core: {}\n"))
    #expect(plain.datapathThreads == nil)
    let two = try #require(load("name: dt2\ndatapath-threads: 2\nswitches:\n  core: {}\n"))
    #expect(two.datapathThreads == 2)
    #expect(two.summary.hasPrefix("lab dt2 (lab.yaml), 2 datapath threads\n"))
    for (count, column) in [("0", 19), ("65", 19), ("two", 19)] {
      #expect(throws: TopologyError.self) {
        try TopologyLoader.load(
          yaml: "name: dt3\ndatapath-threads: \(count)\nswitches:\n  core: {}\n", file: "lab.yaml")
      }
      do {
        _ = try TopologyLoader.load(
          yaml: "name: dt3\ndatapath-threads: \(count)\nswitches:\n  core: {}\n", file: "lab.yaml")
      } catch {
        #expect(
          "\(error)".contains(
            "lab.yaml:2:\(column): error: invalid datapath-threads '\(count)': expected a whole number from 1 to 64"
          ), "\(error)")
      }
    }
  }

  @Test func summaryMentionsEveryHostAndNonDefaultSettings() throws {
    let topology = try #require(
      load(
        """
        name: lab2
        switches:
          core:
            mac-aging: 90s
            mac-table-size: 100
            ports:
              a: {mtu: 9000, rate: {ingress: 1gbit, egress-pps: 20kpps, burst: 64KiB}, max-macs: 2, mac-lock: true}
              b: {}
              c: {}
        hosts:
          web: {port: core/a, address: 10.1.0.2/16, gateway: 10.1.0.1}
          db: {port: core/b, mac: 02:00:00:00:00:0b}
          cache: {port: core/c, address: dhcp}
        """))
    let lines = topology.summary.split(separator: "\n").map(String.init)
    #expect(lines.contains("switch core: 3 ports, mac-aging 90s, mac-table-size 100"))
    #expect(
      lines.contains(
        "  a: tap lab2-a, rate ingress 1gbit egress 20kpps burst 64KiB, max-macs 2, mac-lock, mtu 9000"
      ))
    #expect(
      lines.contains(
        "  web on core/a, 10.1.0.2/16, gateway 10.1.0.1, mac \(topology.defaultMAC(forHost: "web")) (derived)"
      ))
    #expect(lines.contains("  db on core/b, no address, mac 02:00:00:00:00:0b"))
    #expect(
      lines.contains(
        "  cache on core/c, dhcp, mac \(topology.defaultMAC(forHost: "cache")) (derived)"))
    for host in topology.hosts {
      #expect(lines.contains { $0.hasPrefix("  \(host.name) on ") }, "\(host.name)")
    }
  }

  @Test func derivedMACsAreStableLocalUnicastAndDistinct() throws {
    let topology = try #require(load(graphLab))
    // Known answer: FNV-1a 64 of "g1/h1", folded to 40 bits, behind 0x02.
    #expect(topology.defaultMAC(forHost: "h1") == MACAddress("02:2d:00:bc:6e:66"))
    let other = Topology(name: "g2", sourcePath: "x.yaml", switches: [])
    var seen = Set<MACAddress>()
    for lab in [topology, other] {
      for host in ["h1", "h2", "web", "db", "a", "b"] {
        let mac = lab.defaultMAC(forHost: host)
        #expect(mac.octets[0] == 0x02)
        #expect(mac.isLocallyAdministered && mac.isUnicast)
        #expect(mac == lab.defaultMAC(forHost: host))
        seen.insert(mac)
      }
    }
    #expect(seen.count == 12)
  }

  @Test func configuredMACsWin() throws {
    let topology = try #require(load(graphLab))
    var host = try #require(topology.hosts.first)
    #expect(topology.macAddress(of: host) == topology.defaultMAC(forHost: "h1"))
    host.mac = MACAddress("02:00:00:00:10:11")
    #expect(topology.macAddress(of: host) == MACAddress("02:00:00:00:10:11"))

    var vm = try #require(topology.vms.first)
    #expect(topology.macAddress(of: vm, nic: 1) == MACAddress("52:54:00:72:b5:22"))
    #expect(topology.macAddress(of: vm, nic: 0) != topology.macAddress(of: vm, nic: 1))
    vm.mac = MACAddress("02:00:00:00:00:33")
    #expect(topology.macAddress(of: vm, nic: 0) == MACAddress("02:00:00:00:00:33"))
    #expect(topology.macAddress(of: vm, nic: 1) == MACAddress("52:54:00:72:b5:22"))
  }
}
