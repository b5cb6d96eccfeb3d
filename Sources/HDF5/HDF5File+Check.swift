// HDF5File+Check: the metadata check of files this process did not write, seen from tests and tools.
import CIsolatedCheck

extension HDF5File {
    /// How many check processes this process has started (a file is checked once per identity).
    ///
    /// `open` forks one for each file it has not seen: for tests and for measuring the cost.
    /// The corresponding C function is `photoz_check_children_started`.
    public static var metadataChecksStarted: Int { Int(photoz_check_children_started()) }

    /// Forgets every verdict, so each file is checked again at its next open (for tests and the
    /// fuzzers, which rewrite one path faster than its modification time changes).
    public static func forgetMetadataChecks() { photoz_check_forget_all() }
}
