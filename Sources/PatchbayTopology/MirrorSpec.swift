/// A SPAN mirror.
public struct MirrorSpec: Sendable {
  /// The mirror's name.
  public var name: String
  /// Ports whose received and sent frames are copied.
  public var from: [PortReference]
  /// The port the copies go to.
  public var to: PortReference
  /// Where `to` is written.
  public var toLocation: SourceLocation?
  /// tcpdump filter expression, if any.
  public var filter: String?
  /// Where the filter is written, for errors about it.
  public var filterLocation: SourceLocation?
  /// Where the mirror is declared.
  public var location: SourceLocation

  /// Makes a mirror value.
  public init(
    name: String, from: [PortReference], to: PortReference, filter: String? = nil,
    location: SourceLocation
  ) {
    self.name = name
    self.from = from
    self.to = to
    self.filter = filter
    self.location = location
  }
}
