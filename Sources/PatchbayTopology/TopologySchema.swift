/// The JSON Schema (draft 2020-12) of topology files, `schema/patchbay.schema.json`, compiled
/// into the binary so `patchbay schema` prints the schema of exactly the loader it ships with.
public enum TopologySchema {
  /// The schema file's bytes, unchanged.
  public static var bytes: [UInt8] { PackageResources.patchbay_schema_json }

  /// The schema file's text.
  public static var text: String { String(decoding: bytes, as: UTF8.self) }
}
