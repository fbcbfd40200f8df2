import Foundation
import PatchbayCore
import PatchbayTopology
import Testing

/// What the schema says about the mappings with fixed keys: their keys, by path as
/// `TopologyKeys.byPath` writes them, and each key's schema with its `$ref`s resolved.
struct SchemaMappings {
  var keys: [String: Set<String>] = [:]
  var properties: [String: [String: [String: Any]]] = [:]
  /// Places that break the rules every mapping follows (a key without a description, a
  /// mapping with fixed keys that lets other keys through).
  var problems: [String] = []

  init(_ schema: [String: Any]) {
    let definitions = schema["$defs"] as? [String: [String: Any]] ?? [:]
    walk(schema, path: "", definitions: definitions)
  }

  /// Descends through what can hold keys of the file: `properties`, a mapping of names'
  /// `additionalProperties` (the path gets `*`), list `items` and `anyOf`/`oneOf` branches.
  /// Conditions (`if`, `then`, `not`, `dependentSchemas`) only constrain keys named here.
  private mutating func walk(
    _ node: [String: Any], path: String, definitions: [String: [String: Any]]
  ) {
    let node = resolved(node, definitions)
    if let properties = node["properties"] as? [String: [String: Any]] {
      keys[path, default: []].formUnion(properties.keys)
      if node["additionalProperties"] as? Bool != false {
        problems.append("\(path.isEmpty ? "the root" : path) lets unknown keys through")
      }
      for (key, property) in properties {
        let child = path.isEmpty ? key : "\(path).\(key)"
        let description = property["description"] as? String ?? ""
        if description.isEmpty { problems.append("\(child) has no description") }
        self.properties[path, default: [:]][key] = resolved(property, definitions)
        walk(property, path: child, definitions: definitions)
      }
    }
    if let names = node["additionalProperties"] as? [String: Any] {
      walk(names, path: path.isEmpty ? "*" : "\(path).*", definitions: definitions)
    }
    if let items = node["items"] as? [String: Any] {
      walk(items, path: path, definitions: definitions)
    }
    for branches in ["anyOf", "oneOf"] {
      for branch in node[branches] as? [[String: Any]] ?? [] {
        walk(branch, path: path, definitions: definitions)
      }
    }
  }

  /// `node` with a `$ref` into `$defs` replaced by the definition, the node's own keys kept.
  private func resolved(_ node: [String: Any], _ definitions: [String: [String: Any]])
    -> [String: Any]
  {
    guard let reference = node["$ref"] as? String else { return node }
    let name = String(reference.dropFirst("#/$defs/".count))
    var merged = resolved(definitions[name] ?? [:], definitions)
    for (key, value) in node where key != "$ref" { merged[key] = value }
    return merged
  }
}

/// The schema file of the repository, parsed.
func repositorySchema() throws -> [String: Any] {
  // Tests/PatchbayTopologyTests/THIS FILE -> repository root -> schema/
  let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
  let data = try Data(contentsOf: root.appendingPathComponent("schema/patchbay.schema.json"))
  return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// For each mapping with fixed keys, a file that puts `KEY: VALUE` into it.
let keyProbes: [String: String] = [
  "": "KEY: VALUE\n",
  "switches.*": "name: lab1\nswitches:\n  core:\n    KEY: VALUE\n",
  "switches.*.ports.*":
    "name: lab1\nswitches:\n  core:\n    ports:\n      p1:\n        KEY: VALUE\n",
  "switches.*.ports.*.rate":
    "name: lab1\nswitches:\n  core:\n    ports:\n      p1:\n        rate:\n          KEY: VALUE\n",
  "hosts.*": "name: lab1\nswitches: {core: {}}\nhosts:\n  h1:\n    KEY: VALUE\n",
  "vms.*": "name: lab1\nswitches: {core: {}}\nvms:\n  v1:\n    KEY: VALUE\n",
  "vms.*.disk": "name: lab1\nswitches: {core: {}}\nvms:\n  v1:\n    disk:\n      KEY: VALUE\n",
  "uplinks.*": "name: lab1\nswitches: {core: {}}\nuplinks:\n  u1:\n    KEY: VALUE\n",
  "uplinks.*.dhcp":
    "name: lab1\nswitches: {core: {}}\nuplinks:\n  u1:\n    dhcp:\n      KEY: VALUE\n",
  "captures.*": "name: lab1\nswitches: {core: {}}\ncaptures:\n  c1:\n    KEY: VALUE\n",
  "captures.*.ring":
    "name: lab1\nswitches: {core: {}}\ncaptures:\n  c1:\n    ring:\n      KEY: VALUE\n",
  "mirrors.*": "name: lab1\nswitches: {core: {}}\nmirrors:\n  m1:\n    KEY: VALUE\n",
]

/// The probe for `path` with `key` and `value` filled in, and where the key is (`LINE:COL`).
func probe(_ path: String, key: String, value: String) -> (yaml: String, keyAt: String) {
  let template = keyProbes[path] ?? ""
  let before = template[..<(template.range(of: "KEY")?.lowerBound ?? template.endIndex)]
  let line = before.filter { $0 == "\n" }.count + 1
  let column =
    before.count
    - (before.lastIndex(of: "\n").map { before.distance(from: before.startIndex, to: $0) + 1 } ?? 0)
    + 1
  let yaml = template.replacingOccurrences(of: "KEY", with: key)
    .replacingOccurrences(of: "VALUE", with: value)
  return (yaml, "\(line):\(column)")
}

/// The whole-number forms a key's schema allows, with their `minimum` and `maximum` (nil:
/// none): its own, or an `anyOf`/`oneOf` branch's narrowed by the key's own (`memory` is a
/// size, whose whole-number branch starts at 0, with `minimum` 16MiB beside the `$ref`).
func integerRanges(_ schema: [String: Any], _ definitions: [String: [String: Any]])
  -> [(minimum: Int?, maximum: Int?)]
{
  var schema = schema
  if let reference = schema["$ref"] as? String {
    var merged = definitions[String(reference.dropFirst("#/$defs/".count))] ?? [:]
    for (key, value) in schema where key != "$ref" { merged[key] = value }
    schema = merged
  }
  let minimum = schema["minimum"] as? Int
  let maximum = schema["maximum"] as? Int
  var ranges: [(minimum: Int?, maximum: Int?)] = []
  if schema["type"] as? String == "integer" { ranges.append((minimum, maximum)) }
  for branches in ["anyOf", "oneOf"] {
    for branch in schema[branches] as? [[String: Any]] ?? [] {
      for range in integerRanges(branch, definitions) {
        let low = [range.minimum, minimum].compactMap { $0 }.max()
        let high = [range.maximum, maximum].compactMap { $0 }.min()
        ranges.append((low, high))
      }
    }
  }
  return ranges
}

@Suite struct TopologySchemaTests {
  @Test func theCompiledInSchemaIsTheRepositoryFileByteForByte() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    let file = try Data(contentsOf: root.appendingPathComponent("schema/patchbay.schema.json"))
    #expect(Data(TopologySchema.bytes) == file, "rebuild after editing the schema")
    #expect(
      TopologySchema.text.hasPrefix(
        "{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\""))
  }

  @Test func theSchemaNamesExactlyTheKeysTheLoaderTakes() throws {
    let mappings = SchemaMappings(try repositorySchema())
    #expect(mappings.problems == [])
    #expect(Set(mappings.keys.keys) == Set(TopologyKeys.byPath.keys))
    for (path, keys) in TopologyKeys.byPath.sorted(by: { $0.key < $1.key }) {
      let inSchema = mappings.keys[path] ?? []
      #expect(
        Set(keys).subtracting(inSchema) == [], "taken by the loader, not in the schema: \(path)")
      #expect(inSchema.subtracting(keys) == [], "in the schema, refused by the loader: \(path)")
      #expect(Set(keys).count == keys.count, "a key listed twice at \(path)")
    }
  }

  @Test func theLoaderTakesEveryKeyOfTheTableAndRefusesOthers() throws {
    #expect(Set(keyProbes.keys) == Set(TopologyKeys.byPath.keys))
    for (path, keys) in TopologyKeys.byPath.sorted(by: { $0.key < $1.key }) {
      for key in keys {
        let (yaml, _) = probe(path, key: key, value: "x")
        #expect(
          !diagnostics(yaml).contains { $0.contains("unknown key '\(key)'") },
          "\(path).\(key) is refused as unknown")
      }
      let (yaml, keyAt) = probe(path, key: "no-such-key", value: "x")
      let refusals = diagnostics(yaml).filter { $0.contains("unknown key 'no-such-key'") }
      #expect(refusals.count == 1, "\(path): \(diagnostics(yaml))")
      #expect(
        refusals.first?.hasPrefix("lab.yaml:\(keyAt): error: unknown key 'no-such-key' ") == true,
        "\(path): \(refusals)")
    }
  }

  @Test func theSchemasWholeNumberRangesAreTheLoaders() throws {
    let schema = try repositorySchema()
    let definitions = schema["$defs"] as? [String: [String: Any]] ?? [:]
    let mappings = SchemaMappings(schema)
    var checked: [String] = []
    for (path, properties) in mappings.properties.sorted(by: { $0.key < $1.key }) {
      for (key, property) in properties.sorted(by: { $0.key < $1.key }) {
        for range in integerRanges(property, definitions) {
          let invalid = { (value: Int) in
            let (yaml, _) = probe(path, key: key, value: String(value))
            return diagnostics(yaml).contains { $0.contains("invalid \(key) '\(value)'") }
          }
          if let minimum = range.minimum {
            #expect(!invalid(minimum), "\(path).\(key): \(minimum) is refused")
            #expect(invalid(minimum - 1), "\(path).\(key): \(minimum - 1) is taken")
          }
          if let maximum = range.maximum {
            #expect(!invalid(maximum), "\(path).\(key): \(maximum) is refused")
            #expect(invalid(maximum + 1), "\(path).\(key): \(maximum + 1) is taken")
          }
          checked.append(path.isEmpty ? key : "\(path).\(key)")
        }
      }
    }
    // Every ranged whole number of the file, so a range dropped from the schema shows here.
    #expect(
      checked.sorted()
        == [
          "log-cap", "datapath-threads",
          "captures.*.ring.files", "captures.*.ring.size", "captures.*.snaplen",
          "switches.*.mac-table-size", "switches.*.ports.*.dot1q-tunnel",
          "switches.*.ports.*.max-macs", "switches.*.ports.*.mtu",
          "switches.*.ports.*.native-vlan", "switches.*.ports.*.rate.burst",
          "switches.*.ports.*.rate.egress-pps", "switches.*.ports.*.rate.ingress-pps",
          "switches.*.ports.*.vlan", "uplinks.*.max-sessions", "vms.*.cpus", "vms.*.memory",
        ].sorted())
  }

  @Test func theSchemasChoicesAreTheLoaders() throws {
    let mappings = SchemaMappings(try repositorySchema())
    let mode = mappings.properties["uplinks.*"]?["mode"]?["enum"] as? [String]
    #expect(mode == UplinkMode.allCases.map(\.rawValue))
    let format = mappings.properties["vms.*.disk"]?["format"]?["enum"] as? [String]
    #expect(format == DiskFormat.allCases.map(\.rawValue))
    let accel = mappings.properties["vms.*"]?["accel"]?["enum"] as? [String]
    #expect(accel == ["kvm", "tcg"])
    for value in ["kvm", "tcg"] {
      #expect(
        !diagnostics(probe("vms.*", key: "accel", value: value).yaml).contains {
          $0.contains("invalid accel")
        })
    }
    #expect(
      diagnostics(probe("vms.*", key: "accel", value: "hvf").yaml).contains {
        $0.contains("invalid accel 'hvf'")
      })
  }

  @Test func theSchemasDefaultsAreTheLoaders() throws {
    let mappings = SchemaMappings(try repositorySchema())
    func defaultValue(_ path: String, _ key: String) -> Any? {
      mappings.properties[path]?[key]?["default"]
    }
    let duration = { (text: Any?) in try? ValueFormat.duration(text as? String ?? "") }
    let size = { (text: Any?) in try? ValueFormat.size(text as? String ?? "") }
    #expect(duration(defaultValue("switches.*", "mac-aging")) == SwitchSpec.defaultMACAging)
    #expect(defaultValue("switches.*", "mac-table-size") as? Int == SwitchSpec.defaultMACTableSize)
    #expect(defaultValue("switches.*.ports.*", "mtu") as? Int == PortSpec.defaultMTU)
    #expect(duration(defaultValue("vms.*", "stop-timeout")) == VMSpec.defaultStopTimeout)
    #expect(size(defaultValue("vms.*", "memory")) == 256 << 20)
    // `auto`: the loader's default, an adaptive window.
    #expect(defaultValue("", "busy-poll") as? String == "auto")
    #expect(load("name: d\nswitches:\n  core: {}\n")?.adaptsBusyPoll == true)
    #expect(size(defaultValue("", "log-cap")) == UInt64(Topology.defaultLogCap))
    #expect(defaultValue("captures.*", "snaplen") as? Int == 262_144)
  }
}
