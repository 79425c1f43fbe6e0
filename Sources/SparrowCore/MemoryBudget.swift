#if canImport(Glibc)
import Glibc
#endif

/// Refuses work that cannot fit before allocating it. Every reader, generator
/// and dense expansion estimates the bytes it will need on this rank from a
/// header or its parameters and asks here first, so a 40-byte file claiming
/// 2^31 rows gets a one-line error instead of taking the machine down.
///
/// The budget per rank is `--memory-limit` (or SPARROW_MEMORY_LIMIT) when
/// given, else the kernel's MemAvailable shared by the ranks on this node.
public enum MemoryBudget {
    /// Bytes per rank set by `--memory-limit`; set once on the main thread before work starts.
    nonisolated(unsafe) public static var limitPerRank: Int?

    /// Ranks sharing this node's memory (OpenMPI and Slurm say; 1 otherwise).
    public static var ranksOnThisNode: Int {
        for name in ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"] {
            if let n = System.environment(name).flatMap({ Int($0) }), n > 0 { return n }
        }
        return 1
    }

    /// MemAvailable from /proc/meminfo in bytes (nil where unknown).
    public static func availableBytes() -> Int? {
        guard let text = System.readProcFile("/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let words = line.split(separator: " ")
            if words.count >= 2, let kib = Int(words[1]) { return kib * 1024 }
        }
        return nil
    }

    /// The budget for one rank and where it comes from.
    public static func budget() -> (bytes: Int, source: String)? {
        if let limitPerRank { return (limitPerRank, "the --memory-limit") }
        if let text = System.environment("SPARROW_MEMORY_LIMIT"), let bytes = parseSize(text) { return (bytes, "SPARROW_MEMORY_LIMIT's") }
        guard let available = availableBytes() else { return nil }
        let ranks = ranksOnThisNode
        return (available / ranks, ranks == 1 ? "available memory's" : "available memory's share per rank (\(ranks) ranks on this node):")
    }

    /// Throws `error(message)` when `bytes` will not fit this rank's budget.
    public static func check(_ bytes: Double, for what: String,
                             error: (String) -> SparrowError) throws(SparrowError) {
        guard let (limit, source) = budget() else { return }
        if !(bytes <= Double(limit)) { // NaN (an estimate that overflowed) is refused too
            throw error("\(what) needs about \(format(bytes)) per rank, more than \(source) \(format(Double(limit))) (see --memory-limit)")
        }
    }

    /// "512M", "3G", "1.5T", or plain bytes.
    public static func parseSize(_ text: String) -> Int? {
        guard let last = text.last else { return nil }
        let units: [Character: Double] = ["K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024, "T": 1024 * 1024 * 1024 * 1024]
        let scale = units[Character(last.uppercased())]
        guard let number = Double(scale == nil ? text : String(text.dropLast())), number.isFinite, number > 0 else { return nil }
        let bytes = number * (scale ?? 1)
        return bytes < 9e18 ? Int(bytes) : nil
    }

    public static func format(_ bytes: Double) -> String {
        guard bytes.isFinite else { return "more bytes than can be counted" }
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = bytes, unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        if value >= 1e6 { return "\(value) \(units[unit])" }
        return unit == 0 ? "\(Int.clamping(value, to: 0...Int.max)) bytes" : "\(Double(Int.clamping(value * 10, to: 0...Int.max)) / 10) \(units[unit])"
    }
}

extension MatrixMarketHeader {
    /// Bytes one rank of `ranks` needs to read this file and assemble its rows:
    /// parsed triplets (twice for mirrored symmetric entries), the row structure
    /// (today an n-long count array on every rank) and the CSR arrays.
    public func estimatedBytes(ranks: Int = 1) -> Double {
        let parts = Double(max(1, ranks))
        switch format {
        case .coordinate:
            let stored = Double(declaredEntries) / parts
            let expanded = symmetry == .general ? stored : 2 * stored
            return stored * 16 + expanded * (16 + 12) + Double(rows + 1) * 16
        case .array:
            // Dense values, plus a sparse copy (and its row pointers) when a sparse matrix is asked for:
            // a 0-column array with 2·10^8 rows holds no values but 1.6 GB of row pointers (found by fuzzing).
            return Double(rows) * Double(columns) * 8 * 2 + Double(rows + 1) * 16
        }
    }

    /// Refuses to read a file whose contents will not fit.
    public func checkMemory(file: String, ranks: Int = 1) throws(SparrowError) {
        if let petsc { return try petsc.checkMemory(file: file, ranks: ranks) }
        let line = sizeLine
        try MemoryBudget.check(estimatedBytes(ranks: ranks), for: "\(format.rawValue) \(rows) × \(columns) with \(declaredEntries) entries") {
            .input(file: file, line: line, message: $0)
        }
    }
}

extension GeneratorSpec {
    /// Bytes one rank of `ranks` needs to generate and assemble this matrix.
    public func estimatedBytes(ranks: Int = 1) -> Double {
        let entriesPerItem: Double = { switch self { case .grid2d: return 5; case .grid3d: return 7; default: return 1 } }()
        let entries = Double(workItems) * entriesPerItem / Double(max(1, ranks))
        return entries * (16 + 16 + 12) + Double(dimension + 1) * 16
    }

    /// Refuses a generator whose output will not fit; `field` names the option or job field.
    public func checkMemory(ranks: Int = 1, field: String) throws(SparrowError) {
        try MemoryBudget.check(estimatedBytes(ranks: ranks), for: "generating \(description) (\(dimension) rows, \(workItems) work items)") {
            .field(name: field, message: $0)
        }
    }
}
