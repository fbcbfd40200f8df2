/// The release this binary is: the one place the version is written. `patchbay --version`
/// prints it, and `Scripts/package` reads it from the built binary to name the `.deb`, so the
/// package and the program can never disagree.
enum PatchbayVersion {
  /// `MAJOR.MINOR.PATCH`, as Debian's version comparison orders it.
  static let current = "0.1.0"
}
