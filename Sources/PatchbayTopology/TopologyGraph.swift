/// The graph languages `patchbay graph` writes.
public enum GraphFormat: String, CaseIterable, Sendable {
  /// Graphviz (`dot -Tsvg`).
  case dot
  /// Mermaid flowchart, as GitHub renders in Markdown.
  case mermaid
}

extension Topology {
  /// The lab as a graph: switches are nodes, each port an edge to what it connects (host, VM,
  /// uplink, interface), and each peer cable one switch-to-switch edge, labelled with VLANs.
  public func graph(format: GraphFormat) -> String {
    let model = GraphModel(self)
    switch format {
    case .dot: return model.dot(title: name)
    case .mermaid: return model.mermaid()
    }
  }
}

/// The graph independent of its syntax, so both formats show the same nodes and edges.
private struct GraphModel {
  enum Shape { case switchNode, host, vm, uplink, interface }

  struct Vertex {
    var id: String
    var label: [String]
    var shape: Shape
  }

  struct Edge {
    var from: String
    var to: String
    var label: [String]
  }

  var vertices: [Vertex] = []
  var edges: [Edge] = []

  init(_ topology: Topology) {
    for switchSpec in topology.switches {
      vertices.append(
        Vertex(id: "switch:\(switchSpec.name)", label: [switchSpec.name], shape: .switchNode))
    }
    for host in topology.hosts {
      var label = [host.name]
      if let address = host.address { label.append(address.description) }
      vertices.append(Vertex(id: "host:\(host.name)", label: label, shape: .host))
    }
    for vm in topology.vms {
      vertices.append(Vertex(id: "vm:\(vm.name)", label: [vm.name], shape: .vm))
    }
    for uplink in topology.uplinks {
      var label = [uplink.name, uplink.mode.rawValue]
      if let interface = uplink.interface { label[1] += " \(interface)" }
      vertices.append(Vertex(id: "uplink:\(uplink.name)", label: label, shape: .uplink))
    }
    for switchSpec in topology.switches {
      for port in switchSpec.ports {
        addEdge(for: port, of: switchSpec, in: topology)
      }
    }
    // A veth host hangs off whatever uses its root-namespace end: an uplink or an attach port.
    for host in topology.hosts {
      guard let veth = host.veth else { continue }
      if let uplink = topology.uplinks.first(where: { $0.interface == veth }) {
        edges.append(Edge(from: "uplink:\(uplink.name)", to: "host:\(host.name)", label: [veth]))
      } else if vertices.contains(where: { $0.id == "attach:\(veth)" }) {
        edges.append(Edge(from: "attach:\(veth)", to: "host:\(host.name)", label: [veth]))
      }
    }
  }

  private mutating func addEdge(
    for port: PortSpec, of switchSpec: SwitchSpec, in topology: Topology
  ) {
    let from = "switch:\(switchSpec.name)"
    var label = [port.name]
    if port.vlanMode != .access(vlan: 1) { label.append(vlanSummary(port.vlanMode)) }
    if let host = topology.host(on: port.reference) {
      edges.append(Edge(from: from, to: "host:\(host.name)", label: label))
      return
    }
    if let vm = topology.vm(on: port.reference) {
      edges.append(Edge(from: from, to: "vm:\(vm.name)", label: label))
      return
    }
    switch port.kind {
    case .tap(let interface), .attach(let interface):
      let id = "\(port.kind.isTap ? "tap" : "attach"):\(interface)"
      let prefix = port.kind.isTap ? "tap" : "attach"
      vertices.append(Vertex(id: id, label: ["\(prefix) \(interface)"], shape: .interface))
      edges.append(Edge(from: from, to: id, label: label))
    case .uplink(let name):
      edges.append(Edge(from: from, to: "uplink:\(name)", label: label))
    case .peer(let reference):
      // One edge per cable: drawn from the end that sorts first, unless the other end is not
      // a matching peer (then each side draws its own, so nothing silently disappears).
      let other = topology.port(reference)
      let isMatched = other.map { $0.kind == .peer(port.reference) } ?? false
      if isMatched && reference < port.reference { return }
      var cableLabel = ["\(port.name) -- \(reference.portName)"]
      let here = vlanSummary(port.vlanMode)
      if let other, isMatched, other.vlanMode != port.vlanMode {
        cableLabel.append("\(here) / \(vlanSummary(other.vlanMode))")
      } else if port.vlanMode != .access(vlan: 1) {
        cableLabel.append(here)
      }
      edges.append(Edge(from: from, to: "switch:\(reference.switchName)", label: cableLabel))
    }
  }

  func dot(title: String) -> String {
    func quoted(_ text: String) -> String {
      "\"" + text.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
    }
    func label(_ lines: [String]) -> String {
      quoted(lines.joined(separator: "\n")).replacingAll("\n", with: "\\n")
    }
    var lines = ["graph \(quoted(title)) {", "  rankdir=LR;"]
    for vertex in vertices {
      let shape: String
      switch vertex.shape {
      case .switchNode: shape = "box, style=bold"
      case .host: shape = "ellipse"
      case .vm: shape = "component"
      case .uplink: shape = "hexagon"
      case .interface: shape = "note"
      }
      lines.append("  \(quoted(vertex.id)) [label=\(label(vertex.label)), shape=\(shape)];")
    }
    for edge in edges {
      lines.append("  \(quoted(edge.from)) -- \(quoted(edge.to)) [label=\(label(edge.label))];")
    }
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
  }

  func mermaid() -> String {
    // Mermaid ids are generated (n0, n1...) because names may hold characters Mermaid parses.
    var ids: [String: String] = [:]
    for (index, vertex) in vertices.enumerated() { ids[vertex.id] = "n\(index)" }
    func text(_ lines: [String]) -> String {
      let escaped = lines.map {
        $0.replacingAll("#", with: "#35;").replacingAll("&", with: "#amp;")
          .replacingAll("\"", with: "#quot;").replacingAll("<", with: "#lt;")
          .replacingAll(">", with: "#gt;")
      }
      return "\"" + escaped.joined(separator: "<br/>") + "\""
    }
    var lines = ["graph LR"]
    for vertex in vertices {
      let id = ids[vertex.id]!
      let label = text(vertex.label)
      switch vertex.shape {
      case .switchNode: lines.append("  \(id)[\(label)]")
      case .host: lines.append("  \(id)([\(label)])")
      case .vm: lines.append("  \(id)[[\(label)]]")
      case .uplink: lines.append("  \(id){{\(label)}}")
      case .interface: lines.append("  \(id)[/\(label)/]")
      }
    }
    for edge in edges {
      // An edge to something the topology does not declare still gets a node, named as is.
      let from = ids[edge.from] ?? "x\(ids.count)"
      if ids[edge.from] == nil {
        ids[edge.from] = from
        lines.append("  \(from)[\(text([edge.from]))]")
      }
      let to = ids[edge.to] ?? "x\(ids.count)"
      if ids[edge.to] == nil {
        ids[edge.to] = to
        lines.append("  \(to)[\(text([edge.to]))]")
      }
      lines.append("  \(from) ---|\(text(edge.label))| \(to)")
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

extension PortKind {
  fileprivate var isTap: Bool {
    if case .tap = self { return true }
    return false
  }
}

extension String {
  /// Every `target` replaced by `replacement`, without Foundation.
  fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
    var result = ""
    result.reserveCapacity(count)
    for character in self {
      if character == target { result += replacement } else { result.append(character) }
    }
    return result
  }
}
