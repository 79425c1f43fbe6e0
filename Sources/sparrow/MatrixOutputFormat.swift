import SparrowCore

/// The file format of outputs whose names Sparrow makes up (`complete -o
/// PREFIX`, `solve --many -o DIR/`): Matrix Market `.mtx` or PETSc binary
/// `.petsc`. Outputs named in full choose by their own extension.
enum MatrixOutputFormat: String {
    case mtx, petsc

    static func parse(_ text: String, flag: String = "--format") throws(SparrowError) -> MatrixOutputFormat {
        guard let format = MatrixOutputFormat(rawValue: text) else {
            throw .field(name: flag, message: "expected mtx or petsc, got '\(text)'")
        }
        return format
    }

    /// The extension, with its dot.
    var suffix: String { "." + rawValue }
}
