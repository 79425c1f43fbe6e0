import CSuiteSparse

public enum SuiteSparseLibrary {
    /// The SuiteSparse version linked at run time ("5.12.0"), for provenance.
    public static var version: String {
        var parts: [Int32] = [0, 0, 0]
        _ = SuiteSparse_version(&parts)
        return parts.map(String.init).joined(separator: ".")
    }
}
