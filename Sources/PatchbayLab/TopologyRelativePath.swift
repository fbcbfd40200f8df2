import Foundation

/// `path`, named in the topology file `topologyFile`, as the lab reads it:
/// relative paths start at the topology file's directory, not where `up` ran,
/// so a lab directory can be moved or brought up from anywhere. Captures' files
/// and VMs' kernels, initrds and disks all go through here.
public func resolvedPath(_ path: String, topologyFile: String) -> String {
  if path.hasPrefix("/") { return path }
  return URL(fileURLWithPath: topologyFile).deletingLastPathComponent()
    .appendingPathComponent(path).standardizedFileURL.path
}
