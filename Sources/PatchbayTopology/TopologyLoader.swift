import PatchbayCore
import PatchbayWire
import Yams

/// Reads topology files: YAML text in, a validated `Topology` or every problem in the file out.
public enum TopologyLoader {
  /// Parses and checks `yaml`; `file` is the path as the user wrote it, put in front of every
  /// diagnostic. Throws every problem at once, sorted by location.
  public static func load(yaml: String, file: String) throws(TopologyError) -> Topology {
    switch YAMLDocument.compose(yaml) {
    case .failure(let syntax):
      let location = SourceLocation(file: file, line: syntax.line, column: syntax.column)
      throw TopologyError(diagnostics: [
        TopologyDiagnostic(location: location, message: syntax.message)
      ])
    case .success(let document):
      var loader = Loader(file: file, document: document)
      let topology = loader.load()
      guard loader.diagnostics.isEmpty, let topology else {
        throw TopologyError(diagnostics: loader.diagnostics)
      }
      return topology
    }
  }
}

// MARK: - The walk

/// One `key: value` pair of a mapping, with where both are.
struct Entry {
  var key: String
  var keyLocation: SourceLocation
  var value: Node
  var valueLocation: SourceLocation
}

/// A port being read, with the places later cross-checks point at.
struct PortDraft {
  var spec: PortSpec
  /// The `tap`/`attach`/`uplink`/`peer` pair that set the kind; nil for the default TAP.
  var kindEntry: Entry?
  /// True when a kind key was written but refused: the kind is unknown, so later checks skip it.
  var kindIsInvalid = false
}

/// A host or VM claiming a port.
struct PortClaim {
  var port: PortReference
  var owner: String
  var location: SourceLocation
}

/// The state of one load: the document, the problems so far and what has been read.
struct Loader {
  let file: String
  let document: YAMLDocument
  var diagnostics: [TopologyDiagnostic] = []

  var labName: String?
  var ports: [PortDraft] = []
  var claims: [PortClaim] = []
  var uplinkPorts: [(entry: Entry, port: PortReference)] = []
  /// Every uplink declared, with its mode when it has a valid one, read or not.
  var declaredUplinks: [(name: String, mode: UplinkMode?, location: SourceLocation)] = []
  var forwardTargets: [(host: String, location: SourceLocation)] = []
  var portLists: [(reference: PortReference, location: SourceLocation)] = []
  var macs: [(mac: MACAddress, owner: String, location: SourceLocation)] = []
  var hostAddresses: [(address: IPv4Address, host: String, location: SourceLocation)] = []
  /// Each host's port, so addresses are compared only within one switch.
  var hostPorts: [String: PortReference] = [:]
  /// Root-namespace veth ends named by hosts.
  var vethNames: [(name: String, location: SourceLocation)] = []
  /// `mac-lock: true` and `ip-guard: true` entries, which take their value from the port's host.
  var hostBoundSecurity: [(port: PortReference, entry: Entry)] = []

  init(file: String, document: YAMLDocument) {
    self.file = file
    self.document = document
  }
}
