import SparrowCore

/// The resource guard for C = A·B: C's arrays (a 32-bit column and a 64-bit
/// value per entry, plus row pointers) must fit this rank's memory budget
/// before they are allocated. Two-pass products know nnz(C) exactly after the
/// symbolic pass; single-pass products (chosen only when the product barely
/// compresses) allocate by the multiply-add count, which is then close to nnz(C).
enum ProductMemory {
    static func check(entries: Int, rows: Int, columns: Int, exact: Bool) throws(SparrowError) {
        let bytes = Double(entries) * 12 + Double(rows + 1) * 8
        let what = "the product's \(rows) × \(columns) block with \(exact ? "" : "up to ")\(entries) entries"
        try MemoryBudget.check(bytes, for: what) { .computation($0) }
    }
}
