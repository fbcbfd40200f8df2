/// A capture declared in the topology.
public struct CaptureSpec: Sendable {
  /// The capture's name.
  public var name: String
  /// Ports captured.
  public var ports: [PortReference]
  /// Output file path.
  public var file: String
  /// tcpdump filter expression, if any.
  public var filter: String?
  /// Where the filter is written, for errors about it.
  public var filterLocation: SourceLocation?
  /// Bytes kept per packet (default 262144).
  public var snaplen: Int
  /// Ring of files, if any: count and size of each.
  public var ring: (files: Int, size: Int)?
  /// Where the capture is declared.
  public var location: SourceLocation

  /// Makes a capture value.
  public init(
    name: String, ports: [PortReference], file: String, filter: String? = nil,
    snaplen: Int = 262_144, ring: (files: Int, size: Int)? = nil, location: SourceLocation
  ) {
    self.name = name
    self.ports = ports
    self.file = file
    self.filter = filter
    self.snaplen = snaplen
    self.ring = ring
    self.location = location
  }
}
