import Foundation
import PatchbayCore
import PatchbayTopology
import PatchbayWire
import Testing

/// The diagnostics of loading `yaml` as `lab.yaml`, as the CLI prints them; empty when it loads.
func diagnostics(_ yaml: String) -> [String] {
  do {
    _ = try TopologyLoader.load(yaml: yaml, file: "lab.yaml")
    return []
  } catch {
    return error.diagnostics.map(\.description)
  }
}

/// Loads `yaml`, recording the diagnostics as a test failure if it does not load.
func load(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Topology? {
  do {
    return try TopologyLoader.load(yaml: yaml, file: "lab.yaml")
  } catch {
    Issue.record("unexpected diagnostics:\n\(error)", sourceLocation: sourceLocation)
    return nil
  }
}

/// A topology file that must be refused with exactly these lines.
struct BadFile: Sendable, CustomTestStringConvertible {
  var name: String
  var yaml: String
  var expected: [String]
  var testDescription: String { name }
}

let badFiles: [BadFile] = [
  BadFile(
    name: "unknown switch key with a suggestion",
    yaml: """
      name: lab1
      switches:
        core:
          mac-agin: 300s
      """,
    expected: [
      "lab.yaml:4:5: error: unknown key 'mac-agin' in switch 'core'; did you mean 'mac-aging'?"
    ]),
  BadFile(
    name: "unknown top-level key without a suggestion",
    yaml: """
      name: lab1
      switches:
        core: {}
      colour: blue
      """,
    expected: ["lab.yaml:4:1: error: unknown key 'colour' at the top level"]),
  BadFile(
    name: "unknown key suggested by prefix",
    yaml: """
      name: lab1
      switches:
        core:
          ports:
            up: {trunk: [10, 20], native: 10}
      """,
    expected: [
      "lab.yaml:5:29: error: unknown key 'native' in port 'core/up'; did you mean 'native-vlan'?"
    ]),
  BadFile(
    name: "duplicate switch",
    yaml: """
      name: lab1
      switches:
        core: {}
        core: {}
      """,
    expected: ["lab.yaml:4:3: error: duplicate switch 'core' (first defined at 3:3)"]),
  BadFile(
    name: "duplicate port and duplicate key inside a port, both reported",
    yaml: """
      name: lab1
      switches:
        core:
          ports:
            vm1: {mtu: 1500, mtu: 9000}
            vm1: {}
      """,
    expected: [
      "lab.yaml:5:24: error: duplicate key 'mtu' in port 'core/vm1' (first defined at 5:13)",
      "lab.yaml:6:7: error: duplicate port 'vm1' in switch 'core' (first defined at 5:7)",
    ]),
  BadFile(
    name: "duplicate host, quoted, three times",
    yaml: """
      name: lab1
      switches:
        core:
          ports: {a: {}, b: {}, c: {}}
      hosts:
        h1: {port: core/a, address: 10.0.0.1/24}
        "h1": {port: core/b, address: 10.0.0.2/24}
        h1: {port: core/c, address: 10.0.0.3/24}
      """,
    expected: [
      "lab.yaml:7:3: error: duplicate host 'h1' (first defined at 6:3)",
      "lab.yaml:8:3: error: duplicate host 'h1' (first defined at 6:3)",
    ]),
  BadFile(
    name: "missing name and switches",
    yaml: """
      hosts: {}
      """,
    expected: [
      "lab.yaml:1:1: error: missing required key 'name' at the top level",
      "lab.yaml:1:1: error: missing required key 'switches' at the top level",
    ]),
  BadFile(
    name: "empty file",
    yaml: "",
    expected: ["lab.yaml:1:1: error: the file is empty; a topology needs 'name' and 'switches'"]),
  BadFile(
    name: "not a mapping",
    yaml: """
      - name: lab1
      """,
    expected: ["lab.yaml:1:1: error: a topology must be a mapping with 'name' and 'switches'"]),
  BadFile(
    name: "YAML syntax error is one diagnostic at the parser's mark",
    yaml: """
      name: lab1
      switches:
        core: {ports: [}
      """,
    expected: [
      "lab.yaml:3:18: error: invalid YAML: did not find expected node content "
        + "(while parsing a flow node at 3:18)"
    ]),
  BadFile(
    name: "bad lab names",
    yaml: """
      name: Lab_1
      switches: {core: {}}
      """,
    expected: [
      "lab.yaml:1:7: error: invalid lab name 'Lab_1': use a-z, 0-9 and '-', starting with a letter or digit"
    ]),
  BadFile(
    name: "lab name too long",
    yaml: """
      name: quickstartlab
      switches: {core: {}}
      """,
    expected: ["lab.yaml:1:7: error: lab name 'quickstartlab' is longer than 10 characters"]),
  BadFile(
    name: "switches empty, then not a mapping",
    yaml: """
      name: lab1
      switches: {}
      hosts: [h1]
      """,
    expected: [
      "lab.yaml:2:1: error: 'switches' needs at least one switch",
      "lab.yaml:3:8: error: 'hosts' must be a mapping",
    ]),
  BadFile(
    name: "bad duration, zero duration and table size out of range",
    yaml: """
      name: lab1
      switches:
        core:
          mac-aging: 5x
          mac-table-size: 0
        dist:
          mac-aging: 0s
          mac-table-size: 2000000
      """,
    expected: [
      "lab.yaml:4:16: error: invalid mac-aging '5x': unknown unit 'x'; use ms, s, m or h",
      "lab.yaml:5:21: error: invalid mac-table-size '0': expected a whole number from 1 to 1048576",
      "lab.yaml:7:16: error: invalid mac-aging '0s': must be greater than zero",
      "lab.yaml:8:21: error: invalid mac-table-size '2000000': expected a whole number from 1 to 1048576",
    ]),
  BadFile(
    name: "busy-poll too long",
    yaml: """
      name: lab1
      busy-poll: 2s
      switches:
        core: {}
      """,
    expected: [
      "lab.yaml:2:12: error: invalid busy-poll '2s': at most 1s (0s turns polling off, auto learns it)"
    ]),
  BadFile(
    name: "busy-poll without a unit",
    yaml: """
      name: lab1
      switches:
        core: {}
      busy-poll: fast
      """,
    expected: [
      "lab.yaml:4:12: error: invalid busy-poll 'fast': expected a duration like 250ms, 300s, 5m or 1h"
    ]),
  BadFile(
    name: "bad rate and size",
    yaml: """
      name: lab1
      switches:
        core:
          ports:
            vm1:
              rate: {ingress: 100mbps, egress: 20kpps, burst: 256KB2, ingress-pps: 5mbit}
      """,
    expected: [
      "lab.yaml:6:25: error: invalid ingress '100mbps': unknown unit 'mbps'; "
        + "use bit, kbit, mbit, gbit, pps, kpps or mpps",
      "lab.yaml:6:42: error: invalid egress '20kpps': use a bit rate like 100mbit; "
        + "packet rates go in 'egress-pps'",
      "lab.yaml:6:57: error: invalid burst '256KB2': unknown unit 'KB2'; "
        + "use B, KiB, MiB, GiB, KB, MB or GB",
      "lab.yaml:6:78: error: invalid ingress-pps '5mbit': use a packet rate like 20kpps",
    ]),
  BadFile(
    name: "rate beyond what the buckets hold",
    yaml: """
      name: lab1
      switches:
        core:
          ports:
            vm1:
              rate: {ingress: 2000gbit, burst: 1GiB, egress-pps: 0}
      """,
    expected: [
      "lab.yaml:6:25: error: invalid ingress '2000gbit': must be at most 1000gbit",
      "lab.yaml:6:42: error: invalid burst '1GiB': must be at most 512MiB",
      "lab.yaml:6:60: error: invalid egress-pps '0': must be greater than zero",
    ]),
  BadFile(
    name: "rate that limits nothing",
    yaml: """
      name: lab1
      switches:
        core:
          ports:
            vm1:
              rate: {burst: 64KiB}
      """,
    expected: [
      "lab.yaml:6:9: error: 'rate' of port 'core/vm1' sets no limit; "
        + "use ingress, egress, ingress-pps or egress-pps"
    ]),
  BadFile(
    name: "bad MACs",
    yaml: """
      name: lab1
      switches:
        core:
          ports: {a: {}, b: {}, c: {}}
      hosts:
        h1: {port: core/a, mac: 01:00:5e:00:00:01}
        h2: {port: core/b, mac: 02:00:00:00:10}
        h3: {port: core/c, mac: 00:00:00:00:00:00}
      """,
    expected: [
      "lab.yaml:6:27: error: invalid mac '01:00:5e:00:00:01': a multicast address cannot be a NIC's address",
      "lab.yaml:7:27: error: invalid mac '02:00:00:00:10': expected six hex bytes like 02:00:00:00:10:11",
      "lab.yaml:8:27: error: invalid mac '00:00:00:00:00:00': the all-zero address cannot be a NIC's address",
    ]),
  BadFile(
    name: "bad CIDRs and gateways",
    yaml: """
      name: lab1
      switches:
        core:
          ports: {a: {}, b: {}, c: {}, d: {}}
      hosts:
        h1: {port: core/a, address: 10.0.10.300/24}
        h2: {port: core/b, address: 10.0.10.12}
        h3: {port: core/c, address: 10.0.10.0/24}
        h4: {port: core/d, address: 10.0.10.14/24, gateway: 10.0.20.1}
      """,
    expected: [
      "lab.yaml:6:31: error: invalid address '10.0.10.300/24': expected A.B.C.D/N or dhcp",
      "lab.yaml:7:31: error: invalid address '10.0.10.12': expected A.B.C.D/N or dhcp",
      "lab.yaml:8:31: error: invalid address '10.0.10.0/24': that is the subnet's network address",
      "lab.yaml:9:55: error: gateway 10.0.20.1 is not inside 10.0.10.14/24",
    ]),
  BadFile(
    name: "host on a missing port, and a host without a port",
    yaml: """
      name: lab1
      switches:
        core:
          ports: {vm1: {}}
      hosts:
        h1: {port: core/vm9}
        h2: {port: vm1}
        h3: {address: 10.0.0.3/24}
      """,
    expected: [
      "lab.yaml:6:14: error: port 'core/vm9' does not exist",
      "lab.yaml:7:14: error: invalid port 'vm1': expected SWITCH/PORT",
      "lab.yaml:8:3: error: missing required key 'port' or 'veth' in host 'h3'",
    ]),
  BadFile(
    name: "two hosts on one port, and a VM on it too",
    yaml: """
      name: lab1
      switches:
        core:
          ports: {vm1: {}}
      hosts:
        h1: {port: core/vm1}
        h2: {port: core/vm1}
      vms:
        v1: {port: core/vm1, disk: a.qcow2}
      """,
    expected: [
      "lab.yaml:7:14: error: port 'core/vm1' already serves host 'h1'",
      "lab.yaml:9:14: error: port 'core/vm1' already serves host 'h1'",
    ]),
  BadFile(
    name: "hosts on ports whose TAP the lab does not own",
    yaml: """
      name: lab1
      switches:
        core:
          ports:
            vm2: {attach: vnet7}
            wan: {uplink: net}
            isl: {peer: dist/isl}
        dist:
          ports:
            isl: {peer: core/isl}
      hosts:
        h1: {port: core/vm2}
        h2: {port: core/wan}
      vms:
        v1: {ports: [core/isl], kernel: vmlinuz}
      uplinks:
        net: {mode: host-only, inside: 10.0.0.1/24}
      """,
    expected: [
      "lab.yaml:12:14: error: port 'core/vm2' is an attach port; a host needs a port whose TAP the lab owns",
      "lab.yaml:13:14: error: port 'core/wan' is an uplink port; a host needs a port whose TAP the lab owns",
      "lab.yaml:15:16: error: port 'core/isl' is a peer port; a vm needs a port whose TAP the lab owns",
    ]),
  BadFile(
    name: "default interface name over 15 characters",
    yaml: """
      name: quickstart
      switches:
        core:
          ports:
            webserver: {}
            db: {}
      """,
    expected: [
      "lab.yaml:5:7: error: interface name 'quickstart-webserver' is longer than 15 characters; "
        + "set tap: to a shorter name"
    ]),
  BadFile(
    name: "explicit interface names: too long, bad character, used twice",
    yaml: """
      name: lab1
      switches:
        core:
          ports:
            a: {tap: averyveryverylongname}
            b: {attach: "eth0:1"}
            c: {tap: lab1-d}
            d: {}
      """,
    expected: [
      "lab.yaml:5:16: error: interface name 'averyveryverylongname' is longer than 15 characters",
      "lab.yaml:6:19: error: interface name 'eth0:1' contains ':'",
      "lab.yaml:8:7: error: interface name 'lab1-d' is already used by port 'core/c' (7:7); "
        + "set tap: to another name",
    ]),
  BadFile(
    name: "same port name on two switches collides by default",
    yaml: """
      name: lab1
      switches:
        core:
          ports:
            vm1: {}
        dist:
          ports:
            vm1: {}
      """,
    expected: [
      "lab.yaml:8:7: error: interface name 'lab1-vm1' is already used by port 'core/vm1' (5:7); "
        + "set tap: to another name"
    ]),
  BadFile(
    name: "peers that do not point back, point at themselves, or at nothing",
    yaml: """
      name: lab1
      switches:
        core:
          ports:
            isl: {peer: dist/isl}
            loop: {peer: core/loop}
            same: {peer: core/isl}
            gone: {peer: dist/none}
        dist:
          ports:
            isl: {}
      """,
    expected: [
      "lab.yaml:5:19: error: peer 'dist/isl' does not point back: set 'peer: core/isl' on port 'dist/isl'",
      "lab.yaml:6:20: error: port 'core/loop' cannot be its own peer",
      "lab.yaml:7:20: error: peer 'core/isl' is on the same switch; a peer must be a port of another switch",
      "lab.yaml:8:20: error: port 'dist/none' does not exist",
    ]),
  BadFile(
    name: "peer links that close a loop between switches",
    yaml: """
      name: lab1
      switches:
        a:
          ports:
            ab: {peer: b/ab, trunk: all}
            ca: {peer: c/ca, trunk: all}
        b:
          ports:
            ab: {peer: a/ab, trunk: all}
            bc: {peer: c/bc, trunk: all}
            ab2: {peer: a2/ab2}
        c:
          ports:
            bc: {peer: b/bc, trunk: all}
            ca: {peer: a/ca, trunk: all}
        a2:
          ports:
            ab2: {peer: b/ab2}
      """,
    expected: [
      "lab.yaml:10:18: error: peer link b/bc <-> c/bc closes a loop between switches 'b' and 'c'; "
        + "peer links must form a tree (there is no spanning tree protocol)"
    ]),
  BadFile(
    name: "port kinds and VLAN modes that exclude each other",
    yaml: """
      name: lab1
      switches:
        core:
          ports:
            a: {tap: ta, attach: vnet1}
            b: {vlan: 10, trunk: [10, 20]}
            c: {native-vlan: 10}
            d: {trunk: [10, 20], native-vlan: 30}
            e: {dot1q-tunnel-type: 0x8100}
      """,
    expected: [
      "lab.yaml:5:20: error: 'attach' conflicts with 'tap' in port 'core/a'; "
        + "a port is one of tap, attach, uplink or peer",
      "lab.yaml:6:21: error: 'trunk' conflicts with 'vlan' in port 'core/b'",
      "lab.yaml:7:11: error: 'native-vlan' needs 'trunk' in port 'core/c'",
      "lab.yaml:8:41: error: native-vlan 30 is not one of the trunk's VLANs",
      "lab.yaml:9:11: error: 'dot1q-tunnel-type' needs 'dot1q-tunnel' in port 'core/e'",
    ]),
  BadFile(
    name: "bad VLAN ids, trunks and booleans",
    yaml: """
      name: lab1
      switches:
        core:
          ports:
            a: {vlan: 4095}
            b: {trunk: [0, 10-20, 30-25]}
            c: {trunk: some}
            d: {dot1q-tunnel: 300, dot1q-tunnel-type: 0x9100, mac-lock: yes}
      """,
    expected: [
      "lab.yaml:5:17: error: invalid vlan '4095': VLAN 4095 is reserved; use 1 to 4094",
      "lab.yaml:6:19: error: invalid trunk '0': VLAN 0 only marks priority tags; use 1 to 4094",
      "lab.yaml:6:29: error: invalid trunk '30-25': the first VLAN is after the last",
      "lab.yaml:7:18: error: invalid trunk 'some': expected a list of VLAN ids or 'all'",
      "lab.yaml:8:49: error: invalid dot1q-tunnel-type '0x9100': use 0x88a8 or 0x8100",
      "lab.yaml:8:67: error: invalid mac-lock 'yes': expected true, false or a unicast MAC like 02:00:00:00:10:11",
    ]),
  BadFile(
    name: "uplink named by a port does not exist",
    yaml: """
      name: lab1
      switches:
        core:
          ports:
            wan: {uplink: internet}
      """,
    expected: ["lab.yaml:5:21: error: uplink 'internet' does not exist"]),
  BadFile(
    name: "uplinks missing what their mode needs",
    yaml: """
      name: lab1
      switches: {core: {}}
      uplinks:
        a: {mode: nat}
        b: {mode: bridge, inside: 10.0.0.1/24}
        c: {mode: nope}
        d: {interface: eth0}
      """,
    expected: [
      "lab.yaml:4:3: error: missing required key 'interface' in uplink 'a' (mode nat)",
      "lab.yaml:4:3: error: missing required key 'inside' in uplink 'a' (mode nat)",
      "lab.yaml:4:3: error: missing required key 'address' in uplink 'a' (mode nat)",
      "lab.yaml:4:3: error: uplink 'a' is not the uplink of any port (add a port with uplink: a)",
      "lab.yaml:5:3: error: missing required key 'interface' in uplink 'b' (mode bridge)",
      "lab.yaml:5:3: error: uplink 'b' is not the uplink of any port (add a port with uplink: b)",
      "lab.yaml:5:21: error: 'inside' does not apply to a bridge uplink",
      "lab.yaml:6:13: error: invalid mode 'nope': use nat, bridge or host-only",
      "lab.yaml:7:3: error: missing required key 'mode' in uplink 'd'",
    ]),
  BadFile(
    // The port names an uplink that is declared but wrong: only what is wrong
    // with it is said, not that it does not exist or is unused.
    name: "a port on an uplink whose mode is wrong or whose keys are missing",
    yaml: """
      name: lab1
      switches: {core: {ports: {wan: {uplink: net}, lan: {uplink: out}}}}
      uplinks:
        net: {mode: nope}
        out: {mode: nat, inside: 10.0.0.1/24}
      """,
    expected: [
      "lab.yaml:4:15: error: invalid mode 'nope': use nat, bridge or host-only",
      "lab.yaml:5:3: error: missing required key 'interface' in uplink 'out' (mode nat)",
      "lab.yaml:5:3: error: missing required key 'address' in uplink 'out' (mode nat)",
    ]),
  BadFile(
    name: "dhcp, dns and forwards of an uplink",
    yaml: """
      name: lab1
      switches: {core: {ports: {wan: {uplink: net}}}}
      uplinks:
        net:
          mode: nat
          interface: eth0
          address: 192.0.2.10/24
          inside: 10.0.10.1/24
          dhcp: {range: 10.0.20.100-10.0.20.199, lease: 0s}
          dns: resolver
          forward: ["tcp 8080 -> h9:80", "tcp 80 h1:80", "udp 53 -> 10.9.0.1:53", "tcp 8080 -> 10.0.10.5:80"]
      """,
    expected: [
      "lab.yaml:9:19: error: dhcp range 10.0.20.100-10.0.20.199 is not inside 10.0.10.1/24",
      "lab.yaml:9:51: error: invalid lease '0s': must be greater than zero",
      "lab.yaml:10:10: error: invalid dns 'resolver': expected relay or an IPv4 address",
      "lab.yaml:11:15: error: host 'h9' does not exist",
      "lab.yaml:11:36: error: invalid forward 'tcp 80 h1:80': expected 'tcp|udp PORT -> HOST:PORT'",
      "lab.yaml:11:52: error: forward target 10.9.0.1 is not inside 10.0.10.1/24",
      "lab.yaml:11:77: error: tcp 8080 is already forwarded (first at 11:15)",
    ]),
  BadFile(
    name: "captures and mirrors",
    yaml: """
      name: lab1
      switches:
        core:
          ports: {vm1: {}, vm2: {}}
      captures:
        web: {ports: [core/vm1, core/vm3], snaplen: 10, ring: {files: 1}}
        all: {ports: [], file: all.pcapng}
      mirrors:
        span: {from: [core/vm1], to: core/vm1}
      """,
    expected: [
      "lab.yaml:6:3: error: missing required key 'file' in capture 'web'",
      "lab.yaml:6:27: error: port 'core/vm3' does not exist",
      "lab.yaml:6:47: error: invalid snaplen '10': must be from 64 to 262144 bytes",
      "lab.yaml:6:51: error: missing required key 'size' in ring of capture 'web'",
      "lab.yaml:6:65: error: invalid files '1': expected a whole number from 2 to 1000000",
      "lab.yaml:7:16: error: 'ports' needs at least one port",
      "lab.yaml:9:32: error: mirror 'span' copies to port 'core/vm1', which is also in 'from'",
    ]),
  BadFile(
    name: "vms missing a boot source, bad values",
    yaml: """
      name: lab1
      switches:
        core:
          ports: {a: {}, b: {}}
      vms:
        v1: {port: core/a, cpus: 0, accel: hvf, initrd: i.gz}
        v2: {port: core/b, ports: [core/b], disk: d.qcow2, memory: 1MiB, qemu-args: "-s"}
        v3: {kernel: vmlinuz}
      """,
    expected: [
      "lab.yaml:6:3: error: missing required key 'kernel' or 'disk' in vm 'v1'",
      "lab.yaml:6:28: error: invalid cpus '0': expected a whole number from 1 to 64",
      "lab.yaml:6:38: error: invalid accel 'hvf': use kvm or tcg",
      "lab.yaml:6:43: error: 'initrd' needs 'kernel' in vm 'v1'",
      "lab.yaml:7:22: error: 'ports' conflicts with 'port' in vm 'v2'",
      "lab.yaml:7:62: error: invalid memory '1MiB': must be at least 16MiB",
      "lab.yaml:7:79: error: 'qemu-args' must be a list of strings",
      "lab.yaml:8:3: error: missing required key 'port' or 'ports' in vm 'v3'",
    ]),
  BadFile(
    name: "many problems in one file, all reported in file order",
    yaml: """
      name: lab1
      switches:
        core:
          mac-aging: forever
          ports:
            vm1: {vlan: 10, tap: lab1-vm1}
            vm2: {mtu: 12}
            vm3: {prot: true}
      hosts:
        h1: {port: core/vm1, address: 10.0.10.11/24, mac: 02:00:00:00:10:11}
        h2: {port: core/vm1, address: 10.0.10.11/24, mac: 02:00:00:00:10:11}
        h3: {port: dist/vm1}
      """,
    expected: [
      "lab.yaml:4:16: error: invalid mac-aging 'forever': expected a duration like 250ms, 300s, 5m or 1h",
      "lab.yaml:7:18: error: invalid mtu '12': expected a whole number from 68 to 65535",
      "lab.yaml:8:13: error: unknown key 'prot' in port 'core/vm3'; did you mean 'protected'?",
      "lab.yaml:11:14: error: port 'core/vm1' already serves host 'h1'",
      "lab.yaml:11:33: error: address 10.0.10.11 is already used by host 'h1'",
      "lab.yaml:11:53: error: mac 02:00:00:00:10:11 is already used by host 'h1'",
      "lab.yaml:12:14: error: port 'dist/vm1' does not exist",
    ]),
  BadFile(
    name: "wrong shapes: lists for values, values for lists",
    yaml: """
      name: [lab1]
      switches:
        core:
          ports:
            vm1: {mtu: {size: 9000}}
            vm2: [tap]
      captures:
        c: {ports: core/vm1, file: }
      hosts:
        h1: core/vm1
      uplinks:
        u1: [nat]
      """,
    expected: [
      "lab.yaml:1:7: error: 'name' must be a single value",
      "lab.yaml:5:18: error: 'mtu' must be a single value",
      "lab.yaml:6:12: error: port 'core/vm2' must be a mapping",
      "lab.yaml:8:14: error: 'ports' must be a list of ports",
      "lab.yaml:8:24: error: missing value for 'file'",
      "lab.yaml:10:7: error: host 'h1' must be a mapping",
      "lab.yaml:12:7: error: uplink 'u1' must be a mapping",
    ]),
]

@Suite struct TopologyLoaderTests {
  @Test(arguments: badFiles)
  func badFileIsRefusedWithEveryProblem(_ file: BadFile) {
    #expect(diagnostics(file.yaml) == file.expected)
  }

  @Test func badFileTableIsLargeEnough() {
    #expect(badFiles.count >= 25)
    #expect(badFiles.filter { $0.expected.count > 1 }.count >= 3)
  }
}

@Suite struct TopologyLoaderGoodFileTests {
  @Test func productExampleVerbatimOnlyLacksTheMirrorPort() {
    // PRODUCT.md's example mirrors to core/monitor but declares no such port.
    #expect(
      diagnostics(productExample) == ["lab.yaml:63:9: error: port 'core/monitor' does not exist"])
  }

  /// The PRODUCT.md example with the one port it forgot.
  static let example = productExample.replacingOccurrences(
    of: "        trunk: all\n  dist:", with: "        trunk: all\n      monitor: {}\n  dist:")

  @Test func productExampleLoadsWithItsVM() throws {
    #expect(Self.example != productExample)
    let topology = try #require(load(Self.example))
    let vm = try #require(topology.vms.first)
    #expect(vm.name == "vm3")
    #expect(vm.ports == [PortReference(switchName: "dist", portName: "vm3")])
    #expect(vm.kernel == "images/vmlinuz" && vm.initrd == "images/initrd.gz")
    #expect(vm.append == "console=ttyS0" && vm.disk == nil)
    #expect(vm.memory == 512 << 20 && vm.cpus == 1 && vm.accel == nil)
    #expect(vm.stopTimeout == VMSpec.defaultStopTimeout)
    // Checks against the machine point at the value, not the VM.
    #expect(vm.valueLocations["kernel"] == SourceLocation(file: "lab.yaml", line: 39, column: 13))
    #expect(topology.vm(on: PortReference(switchName: "dist", portName: "vm3"))?.name == "vm3")
  }

  @Test func aVMsStopTimeoutIsADuration() throws {
    let yaml = """
      name: lab
      switches:
        core:
          ports:
            a: {}
            b: {}
      vms:
        one: {port: core/a, kernel: k, stop-timeout: 90s}
        two: {port: core/b, kernel: k, stop-timeout: soon}
      """
    #expect(
      diagnostics(yaml) == [
        "lab.yaml:9:48: error: invalid stop-timeout 'soon': expected a duration like 250ms, 300s, 5m or 1h"
      ])
    let fixed = try #require(load(yaml.replacingOccurrences(of: "soon", with: "2s")))
    #expect(fixed.vms.map(\.stopTimeout) == [.seconds(90), .seconds(2)])
  }

  @Test func aVMsDiskFormatIsDeclaredOrFollowsTheFileName() throws {
    let yaml = """
      name: lab
      switches:
        core:
          ports:
            a: {}
            b: {}
            c: {}
            d: {}
      vms:
        one: {port: core/a, disk: images/one.qcow2}
        two: {port: core/b, disk: images/two.img}
        three: {port: core/c, disk: {file: images/three.bin, format: qcow2, backing: base.img}}
        four: {port: core/d, disk: {file: images/four.QCOW2, format: raw}}
      """
    let topology = try #require(load(yaml))
    #expect(
      topology.vms.map(\.disk) == [
        "images/one.qcow2", "images/two.img", "images/three.bin", "images/four.QCOW2",
      ])
    #expect(topology.vms.map(\.diskFormat) == [.qcow2, .raw, .qcow2, .raw])
    #expect(topology.vms.map(\.backing) == [nil, nil, "base.img", nil])
    // Checks against the machine point at the file's value in either form.
    #expect(
      topology.vms[2].valueLocations["disk"]
        == SourceLocation(file: "lab.yaml", line: 12, column: 38))
    #expect(
      topology.vms[0].valueLocations["disk"]
        == SourceLocation(file: "lab.yaml", line: 10, column: 29))
  }

  @Test func aBadDiskFormatOrKeyIsReportedAtItsPlace() {
    let yaml = """
      name: lab
      switches:
        core:
          ports:
            a: {}
            b: {}
            c: {}
            d: {}
      vms:
        one: {port: core/a, disk: {file: one.img, format: vmdk}}
        two: {port: core/b, disk: {file: two.qcow2, fromat: qcow2}}
        three: {port: core/c, disk: {format: raw}}
        four: {port: core/d, disk: {file: four.img, backing: base.img}}
      """
    #expect(
      diagnostics(yaml) == [
        "lab.yaml:10:53: error: invalid format 'vmdk': use raw or qcow2",
        "lab.yaml:11:47: error: unknown key 'fromat' in disk of vm 'two'; did you mean 'format'?",
        "lab.yaml:12:25: error: missing required key 'file' in disk of vm 'three'",
        "lab.yaml:13:47: error: 'backing' needs a qcow2 disk (a raw image has no backing file)",
      ])
  }

  @Test func theLogCapIsASizeWithinItsBounds() throws {
    let base = "name: lab\nswitches:\n  core:\n    ports:\n      a: {}\n"
    #expect(try #require(load(base)).logCap == 16 << 20)
    #expect(try #require(load(base + "log-cap: 64KiB\n")).logCap == 64 << 10)
    #expect(
      diagnostics(base + "log-cap: 1KiB\n") == [
        "lab.yaml:6:10: error: invalid log-cap '1KiB': from 4KiB to 1GiB"
      ])
    #expect(
      diagnostics(base + "log-cap: lots\n").first?.hasPrefix(
        "lab.yaml:6:10: error: invalid log-cap 'lots': ") == true)
    #expect(
      diagnostics(base + "log-caps: 1MiB\n") == [
        "lab.yaml:6:1: error: unknown key 'log-caps' at the top level; did you mean 'log-cap'?"
      ])
  }

  @Test func aMirrorCopiesOnlyToATapOrAttachPortThatIsNoMirrorsSource() {
    let yaml = """
      name: lab
      switches:
        core:
          ports:
            a: {}
            b: {}
            c: {}
            isl: {peer: dist/isl}
        dist:
          ports:
            isl: {peer: core/isl}
      mirrors:
        one: {from: [core/a], to: core/isl}
        two: {from: [core/a], to: core/b, filter: icmp}
        three: {from: [core/b], to: core/c}
      """
    #expect(
      diagnostics(yaml) == [
        "lab.yaml:13:29: error: mirror 'one' cannot copy to 'core/isl', a patch cable: use a tap or attach port",
        "lab.yaml:15:3: error: mirror 'three' copies from 'core/b', which is a mirror's monitor port",
      ])
  }

  @Test func capturesAndMirrorsKeepWhereTheirFiltersAreWritten() throws {
    let yaml = """
      name: lab
      switches:
        core:
          ports:
            a: {}
            b: {}
      captures:
        web: {ports: [core/a], file: web.pcapng, filter: tcp port 80}
      mirrors:
        span: {from: [core/a], to: core/b, filter: icmp}
      """
    let topology = try #require(load(yaml))
    #expect(topology.captures.first?.filterLocation?.line == 8)
    #expect(topology.captures.first?.filterLocation?.column == 52)
    #expect(topology.mirrors.first?.filterLocation?.line == 10)
    #expect(topology.mirrors.first?.toLocation?.column == 30)
  }

  @Test func productExampleModel() throws {
    let topology = try #require(load(Self.example))
    #expect(topology.name == "lab1")
    #expect(topology.sourcePath == "lab.yaml")
    #expect(topology.switches.map(\.name) == ["core", "dist"])
    let core = try #require(topology.switchSpec(named: "core"))
    #expect(core.macAging == .seconds(300))
    #expect(core.macTableSize == 8192)
    #expect(core.ports.map(\.name) == ["vm1", "vm2", "wan", "isl", "monitor"])
    #expect(core.location == SourceLocation(file: "lab.yaml", line: 3, column: 3))

    let vm1 = try #require(topology.port(PortReference("core/vm1")!))
    #expect(vm1.kind == .tap(interface: "lab1-vm1"))
    #expect(vm1.vlanMode == .access(vlan: 10))
    #expect(
      vm1.rate
        == RateLimitSpec(
          ingress: .bitsPerSecond(100_000_000), egress: .bitsPerSecond(50_000_000), burst: 262_144))
    #expect(vm1.location == SourceLocation(file: "lab.yaml", line: 7, column: 7))

    let vm2 = try #require(topology.port(PortReference("core/vm2")!))
    #expect(vm2.kind == .attach(interface: "vnet7"))
    #expect(vm2.vlanMode == .trunk(allowed: .only([10, 20]), native: 10, nativeTagged: false))
    #expect(topology.port(PortReference("core/wan")!)?.kind == .uplink(name: "internet"))
    let isl = try #require(topology.port(PortReference("core/isl")!))
    #expect(isl.kind == .peer(PortReference(switchName: "dist", portName: "isl")))
    #expect(isl.vlanMode == .trunk(allowed: .all, native: nil, nativeTagged: false))
    #expect(topology.port(PortReference("dist/vm3")!)?.kind == .tap(interface: "lab1-vm3"))
    let guest = try #require(topology.port(PortReference("dist/guest")!))
    #expect(guest.security == PortSecuritySpec(maxMACs: 4))
    #expect(guest.vlanMode == .dot1qTunnel(serviceVLAN: 300, tagType: .serviceVLAN))

    let host = try #require(topology.hosts.first)
    #expect(host.name == "h1")
    #expect(host.port == PortReference("core/vm1"))
    #expect(host.address == .fixed(IPv4CIDR("10.0.10.11/24")!))
    #expect(host.gateway == IPv4Address("10.0.10.1"))
    #expect(host.mac == MACAddress("02:00:00:00:10:11"))

    let vm = try #require(topology.vms.first)
    #expect(vm.ports == [PortReference("dist/vm3")!])
    #expect(vm.kernel == "images/vmlinuz")
    #expect(vm.initrd == "images/initrd.gz")
    #expect(vm.append == "console=ttyS0")
    #expect(vm.memory == 512 << 20)
    #expect(vm.cpus == 1)

    let uplink = try #require(topology.uplinks.first)
    #expect(uplink.mode == .nat)
    #expect(uplink.interface == "eth0")
    let nat = try #require(uplink.nat)
    #expect(nat.address == .fixed(IPv4CIDR("192.0.2.10/24")!))
    #expect(nat.gateway == IPv4Address("192.0.2.1"))
    #expect(uplink.inside?.description == "10.0.10.1/24")
    #expect(nat.inside.description == "10.0.10.1/24")
    #expect(
      nat.dhcp
        == DHCPSpec(
          rangeStart: IPv4Address("10.0.10.100")!, rangeEnd: IPv4Address("10.0.10.199")!,
          lease: .seconds(3600)))
    #expect(nat.dns == .relay)
    #expect(
      nat.forwards == [
        ForwardSpec(transport: .tcp, outsidePort: 8080, target: .host("h1"), insidePort: 80),
        ForwardSpec(
          transport: .udp, outsidePort: 5353, target: .address(IPv4Address("10.0.10.12")!),
          insidePort: 53),
      ])

    let capture = try #require(topology.captures.first)
    #expect(capture.ports == [PortReference("core/vm1")!, PortReference("core/vm2")!])
    #expect(capture.file == "captures/web.pcapng")
    #expect(capture.filter == "tcp port 80")
    #expect(capture.snaplen == 262_144)
    #expect(capture.ring?.files == 4)
    #expect(capture.ring?.size == 16 << 20)

    let mirror = try #require(topology.mirrors.first)
    #expect(mirror.from == [PortReference("core/vm1")!])
    #expect(mirror.to == PortReference("core/monitor"))
  }

  @Test func defaultsAndBuiltKeysLoad() throws {
    let topology = try #require(
      load(
        """
        name: lab1
        switches:
          core:
            mac-aging: 250ms
            mac-table-size: 1024
            ports:
              a:
              b: {tap: other0, mtu: 9000}
              c: ~
        hosts:
          h1: {port: core/a, address: 10.0.0.1/24}
        """))
    let core = try #require(topology.switches.first)
    #expect(core.macAging == .milliseconds(250))
    #expect(core.macTableSize == 1024)
    #expect(
      core.ports.map(\.kind) == [
        .tap(interface: "lab1-a"), .tap(interface: "other0"), .tap(interface: "lab1-c"),
      ])
    #expect(core.ports.map(\.mtu) == [1500, 9000, 1500])
    #expect(
      core.ports.allSatisfy {
        $0.vlanMode == .access(vlan: 1) && $0.rate == nil && $0.security.isEmpty
      })
    #expect(topology.hosts.map(\.name) == ["h1"])
    #expect(topology.vms.isEmpty && topology.uplinks.isEmpty)
  }

  @Test func offloadIsABooleanOnPortsWithAnInterface() throws {
    let topology = try #require(
      load(
        """
        name: lab1
        switches:
          core:
            ports:
              h1: {offload: false}
              vm: {offload: false}
              mon: {attach: vnet7, offload: false, trunk: all}
              plain: {tap: plain0, offload: true}
              other: {}
        hosts:
          h1: {port: core/h1, address: 10.0.0.1/24}
        vms:
          vm: {port: core/vm, disk: d.qcow2}
        """))
    let ports = try #require(topology.switches.first).ports
    #expect(ports.map(\.acceptsOffloads) == [false, false, false, true, true])
    #expect(topology.summary.contains("  mon: attach vnet7, trunk all, offload false"))
    #expect(topology.summary.contains("  other: tap lab1-other\n"))
  }

  @Test func offloadIsRefusedOnPeerAndUplinkPortsAndMustBeABoolean() {
    #expect(
      diagnostics(
        """
        name: lab1
        switches:
          core:
            ports:
              isl: {peer: dist/isl, offload: false}
              wan: {uplink: net, offload: true}
              h1: {offload: no}
          dist:
            ports:
              isl: {peer: core/isl}
        uplinks:
          net: {mode: host-only, inside: 10.0.0.254/24}
        """) == [
          "lab.yaml:5:38: error: 'offload' applies to ports with an interface (tap, attach, a host's or vm's port); port 'core/isl' is a peer port",
          "lab.yaml:6:35: error: 'offload' applies to ports with an interface (tap, attach, a host's or vm's port); port 'core/wan' is an uplink port",
          "lab.yaml:7:21: error: invalid offload 'no': expected true or false",
        ])
    #expect(
      diagnostics(
        """
        name: lab1
        switches:
          core:
            ports:
              h1: {ofload: false}
        """) == [
          "lab.yaml:5:12: error: unknown key 'ofload' in port 'core/h1'; did you mean 'offload'?"
        ])
  }

  @Test func isolatedSwitchesMayReuseAnAddressButOneSwitchMayNot() throws {
    let topology = try #require(
      load(
        """
        name: lab1
        switches: {web: {ports: {a: {}}}, db: {ports: {b: {}}}}
        hosts:
          h1: {port: web/a, address: 10.1.0.11/24}
          h2: {port: db/b, address: 10.1.0.11/24}
        """))
    let shared = AddressAssignment.fixed(IPv4CIDR("10.1.0.11/24")!)
    #expect(topology.hosts.map(\.address) == [shared, shared])
    #expect(
      diagnostics(
        """
        name: lab1
        switches: {web: {ports: {a: {}, b: {}}}}
        hosts:
          h1: {port: web/a, address: 10.1.0.11/24}
          h2: {port: web/b, address: 10.1.0.11/24}
        """) == ["lab.yaml:5:30: error: address 10.1.0.11 is already used by host 'h1'"])
  }

  @Test func dhcpHostsAndUplinksLoad() throws {
    let topology = try #require(
      load(
        """
        name: lab1
        switches: {core: {ports: {a: {}, wan: {uplink: net}}}}
        hosts:
          h1:
            port: core/a
            address: dhcp
          up:
            veth: lab1-up
            address: 192.0.2.1/24
            run: python3 -m http.server 80
        uplinks:
          net:
            mode: nat
            interface: lab1-up
            address: 192.0.2.10/24
            inside: 10.0.0.254/24
            max-sessions: 64
        """))
    #expect(topology.hosts.first?.address == .dhcp)
    #expect(topology.hosts.last?.veth == "lab1-up" && topology.hosts.last?.port == nil)
    #expect(topology.hosts.last?.run == "python3 -m http.server 80")
    #expect(topology.uplinks.first?.nat?.maxSessions == 64)
  }

  @Test func vethHostsAndUplinkPortsAreChecked() {
    #expect(
      diagnostics(
        """
        name: lab1
        switches:
          core:
            ports:
              a: {}
              wan: {uplink: net, trunk: [10]}
        hosts:
          h1: {port: core/a, address: 10.0.0.1/24}
          h2: {port: core/a, veth: lab1-x}
          up: {veth: lab1-a, address: dhcp}
        uplinks:
          net:
            mode: nat
            interface: lab1-up
            address: 192.0.2.10/24
            inside: 10.0.0.254/24
            max-sessions: 1
            forward: ["tcp 80 -> h9:80"]
          lan: {mode: host-only, inside: 10.0.1.1/24, interface: eth0}
        """) == [
          "lab.yaml:6:21: error: the port of nat uplink 'net' must be an access port (vlan: N)",
          "lab.yaml:9:14: error: port 'core/a' already serves host 'h1'",
          "lab.yaml:9:22: error: 'veth' conflicts with 'port' in host 'h2'",
          "lab.yaml:10:14: error: interface 'lab1-a' is already the TAP of port core/a",
          "lab.yaml:10:31: error: a veth host needs a fixed address: no lab DHCP server serves it",
          "lab.yaml:17:19: error: invalid max-sessions '1': expected a whole number from 16 to 1048576",
          "lab.yaml:18:15: error: host 'h9' does not exist",
          "lab.yaml:19:3: error: uplink 'lan' is not the uplink of any port (add a port with uplink: lan)",
          "lab.yaml:19:47: error: 'interface' does not apply to a host-only uplink",
        ])
  }

  @Test func trunkRangesAndSecurityKeys() throws {
    let topology = try #require(
      load(
        """
        name: lab1
        switches:
          core:
            ports:
              up: {trunk: [20, 100-103, 10, 20], native-vlan: 10, native-tagged: true}
              q: {dot1q-tunnel: 7, dot1q-tunnel-type: 0x8100, mac-lock: 02:00:00:00:00:07, ip-guard: 10.0.0.7, dhcp-guard: false, protected: true}
              r: {rate: {ingress-pps: 1500, egress-pps: 20kpps}}
        """))
    let ports = try #require(topology.switches.first?.ports)
    #expect(
      ports[0].vlanMode
        == .trunk(allowed: .only([10, 20, 100, 101, 102, 103]), native: 10, nativeTagged: true))
    #expect(ports[1].vlanMode == .dot1qTunnel(serviceVLAN: 7, tagType: .vlan))
    #expect(
      ports[1].security
        == PortSecuritySpec(
          lockedMAC: MACAddress(0x02, 0, 0, 0, 0, 0x07), guardedAddress: IPv4Address(10, 0, 0, 7),
          isProtected: true))
    #expect(ports[2].rate == RateLimitSpec(ingressPPS: 1500, egressPPS: 20_000))
  }

  @Test func hostBoundSecurityTakesTheHostsMACAndAddress() throws {
    let topology = try #require(
      load(
        """
        name: lab1
        switches:
          core:
            ports:
              a: {max-macs: 3, mac-lock: true, ip-guard: true, dhcp-guard: true, protected: true}
              b: {mac-lock: 02:00:00:00:00:0b, ip-guard: 10.0.0.99}
              c: {}
        hosts:
          h1: {port: core/a, address: 10.0.0.1/24, mac: 02:00:00:00:00:01}
          h2: {port: core/b, address: 10.0.0.2/24}
        """))
    let ports = try #require(topology.switches.first?.ports)
    #expect(
      topology.security(of: ports[0])
        == PortSecurity(
          maximumMACs: 3, lockedMAC: MACAddress(0x02, 0, 0, 0, 0, 0x01),
          guardedAddress: IPv4Address(10, 0, 0, 1), blocksDHCPServers: true, isProtected: true))
    #expect(
      topology.security(of: ports[1])
        == PortSecurity(
          lockedMAC: MACAddress(0x02, 0, 0, 0, 0, 0x0B), guardedAddress: IPv4Address(10, 0, 0, 99)),
      "named values win over the host's")
    #expect(topology.security(of: ports[2]) == .none)
  }

  @Test func hostBoundSecurityNeedsAHostWithAFixedAddress() {
    #expect(
      diagnostics(
        """
        name: lab1
        switches:
          core:
            ports:
              a: {mac-lock: true}
              b: {ip-guard: true}
              c: {ip-guard: true, mac-lock: true}
              d: {ip-guard: 10.0.0.300}
        hosts:
          h3: {port: core/c, address: dhcp}
        """) == [
          "lab.yaml:5:21: error: mac-lock: true needs a host on port 'core/a' to take it from; name it instead (mac-lock: 02:00:00:00:00:01)",
          "lab.yaml:6:21: error: ip-guard: true needs a host on port 'core/b' to take it from; name it instead (ip-guard: 10.0.0.1)",
          "lab.yaml:7:21: error: ip-guard: true needs host 'h3' on port 'core/c' to have a fixed address",
          "lab.yaml:8:21: error: invalid ip-guard '10.0.0.300': expected true, false or an address like 10.0.0.1",
        ])
  }

  @Test func diagnosticsCarryTheFileAsGiven() {
    do {
      _ = try TopologyLoader.load(
        yaml: "name: lab1\nswitches: {core: {x: 1}}\n", file: "../labs/my lab.yaml")
      Issue.record("loaded a bad file")
    } catch {
      #expect(error.diagnostics.map(\.location.file) == ["../labs/my lab.yaml"])
      #expect(
        error.description == "../labs/my lab.yaml:2:19: error: unknown key 'x' in switch 'core'")
    }
  }

  @Test func duplicateKeysAreFoundInCRLFFilesAndAfterWideCharacters() {
    let yaml =
      "name: lab1\r\nswitches:\r\n  core: {}\r\n  \"core\": {}\r\nhosts: {ü: {}, ü: {}}\r\n"
    #expect(
      diagnostics(yaml) == [
        "lab.yaml:4:3: error: duplicate switch 'core' (first defined at 3:3)",
        "lab.yaml:5:9: error: invalid host name 'ü': use letters, digits, '-', '_' and '.', starting with a letter or digit",
        "lab.yaml:5:16: error: duplicate host 'ü' (first defined at 5:9)",
      ])
  }

  @Test func everyTopologyInTheRepositoryLoads() throws {
    // Tests/PatchbayTopologyTests/THIS FILE -> repository root -> Topologies/
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    let folder = root.appendingPathComponent("Topologies")
    var isDirectory: ObjCBool = false
    try #require(
      FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory)
        && isDirectory.boolValue,
      "\(folder.path) does not exist")
    let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
      .filter { $0.hasSuffix(".yaml") }.sorted()
    for file in files {
      let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
      #expect(diagnostics(text) == [], "Topologies/\(file)")
    }
  }
}

// MARK: - PRODUCT.md's example, copied verbatim (unindented so it diffs against the contract).

let productExample = """
  name: lab1                        # lab name, [a-z0-9-], at most 10 characters
  switches:
    core:
      mac-aging: 300s               # default 300s
      mac-table-size: 8192          # default 8192
      ports:
        vm1:
          tap: lab1-vm1             # a TAP the switch creates and owns (default name: NAME-PORT)
          vlan: 10                  # access port: untagged on the wire, VLAN 10 inside
          rate: {ingress: 100mbit, egress: 50mbit, burst: 256KiB}
        vm2:
          attach: vnet7             # an existing interface (a QEMU-owned TAP, a veth), via AF_PACKET
          trunk: [10, 20]           # tagged VLANs allowed on the port
          native-vlan: 10           # untagged frames belong to VLAN 10
        wan:
          uplink: internet          # this port is the lab side of an uplink (below)
          vlan: 10
        isl:
          peer: dist/isl            # a patch cable to a port of another switch of the lab
          trunk: all
    dist:
      ports:
        isl: {peer: core/isl, trunk: all}
        vm3: {}                     # a VM's port (see vms:); Patchbay makes the TAP that QEMU opens
        guest:
          tap: lab1-guest
          max-macs: 4               # port security: also mac-lock, ip-guard, dhcp-guard, protected
          dot1q-tunnel: 300         # QinQ customer port (outer 802.1ad tag 300); trunks also take native-tagged
  hosts:                            # lab machines as network namespaces, named NAME-HOST
    h1:
      port: core/vm1                # the port's TAP becomes this host's NIC
      address: 10.0.10.11/24        # or: dhcp
      gateway: 10.0.10.1
      mac: 02:00:00:00:10:11        # optional
  vms:                              # QEMU guests, console at /run/patchbay/NAME/VM.console
    vm3:
      port: dist/vm3                # or ports: [dist/vm3, core/x] for several vNICs
      kernel: images/vmlinuz        # or disk: images/debian.qcow2
      initrd: images/initrd.gz
      append: "console=ttyS0"
      memory: 512MiB
      cpus: 1
  uplinks:
    internet:
      mode: nat                     # nat | bridge | host-only
      interface: eth0               # the physical NIC (nat, bridge)
      address: 192.0.2.10/24        # the NAT's own address on the physical network, or: dhcp
      gateway: 192.0.2.1
      inside: 10.0.10.1/24          # the gateway address that lab hosts use
      dhcp: {range: 10.0.10.100-10.0.10.199, lease: 1h}
      dns: relay                    # relay to the host's resolvers, or an address
      forward: ["tcp 8080 -> h1:80", "udp 5353 -> 10.0.10.12:53"]
  captures:
    web:
      ports: [core/vm1, core/vm2]
      file: captures/web.pcapng
      filter: tcp port 80
      snaplen: 262144
      ring: {files: 4, size: 16MiB}
  mirrors:
    span1:
      from: [core/vm1]              # frames received on and sent to these ports...
      to: core/monitor              # ...are copied to this port
  """
