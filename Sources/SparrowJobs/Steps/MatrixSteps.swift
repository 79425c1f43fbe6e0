import SparrowCore
import Yams
import SparrowMPI
import SparrowSpGEMM

/// What a step returns: its value and the figures for the job's history.
typealias StepResult = (value: JobValue, metrics: [(String, JSONValue)])

/// Steps on distributed sparse matrices: generate, info, transpose, scale, add.
/// All are collective; none has a rank-local failure.
enum MatrixSteps {
    static func generate(_ spec: GeneratorSpec, _ context: StepContext) throws(SparrowError) -> StepResult {
        let m = try DistributedGenerator.generate(spec, communicator: context.communicator)
        return (.sparse(m), [("rows", .integer(m.globalRows)), ("nnz", .integer(m.globalNonzeros(context.communicator)))])
    }

    static func info(_ name: String, _ context: StepContext) throws(SparrowError) -> StepResult {
        let m = try context.values.sparse(name), communicator = context.communicator
        let sumOfSquares = communicator.allreduce(m.local.values.reduce(0) { $0 + $1 * $1 }, .sum)
        let fields: [(String, JSONValue)] = [("rows", .integer(m.globalRows)), ("columns", .integer(m.globalColumns)),
                                             ("nnz", .integer(m.globalNonzeros(communicator))),
                                             ("frobenius_norm", .number(sumOfSquares.squareRoot()))]
        return (.metrics(fields), fields)
    }

    static func transpose(_ name: String, _ context: StepContext) throws(SparrowError) -> StepResult {
        let t = try transposed(try context.values.sparse(name), context.communicator)
        return (.sparse(t), [("nnz", .integer(t.globalNonzeros(context.communicator)))])
    }

    static func scale(_ name: String, _ alpha: Double, _ context: StepContext) throws(SparrowError) -> StepResult {
        var m = try context.values.sparse(name)
        m.local.values = m.local.values.map { $0 * alpha }
        return (.sparse(m), [("alpha", .number(alpha))])
    }

    /// alpha·A + beta·B, B moved to A's partition first.
    static func add(_ aName: String, _ bName: String, _ alpha: Double, _ beta: Double, step: String,
                    _ context: StepContext) throws(SparrowError) -> StepResult {
        let a = try context.values.sparse(aName), b0 = try context.values.sparse(bName)
        guard a.globalRows == b0.globalRows, a.globalColumns == b0.globalColumns else {
            throw .usage("shape mismatch in step \(step): \(aName) is \(a.globalRows) × \(a.globalColumns), \(bName) is \(b0.globalRows) × \(b0.globalColumns)")
        }
        let b = try DistributedSpGEMM.redistribute(b0, to: a.partition, communicator: context.communicator)
        var t = TripletBuilder(rows: a.local.rows, columns: a.globalColumns, reservingCapacity: a.local.nonzeros + b.local.nonzeros)
        for i in 0..<a.local.rows {
            for p in a.local.rowRange(i) { t.append(row: i, column: Int(a.local.columnIndices[p]), value: alpha * a.local.values[p]) }
            for p in b.local.rowRange(i) { t.append(row: i, column: Int(b.local.columnIndices[p]), value: beta * b.local.values[p]) }
        }
        let sum = DistributedCSR(local: t.csr(), partition: a.partition, globalColumns: a.globalColumns, rank: context.communicator.rank)
        return (.sparse(sum), [("nnz", .integer(sum.globalNonzeros(context.communicator)))])
    }

    /// Aᵀ, distributed: every entry travels to the owner of its column.
    static func transposed(_ m: DistributedCSR, _ communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        let t = m.local.triplets
        let offset = m.ownedRows.lowerBound
        return try DistributedCSR.assemble(rows: m.globalColumns, columns: m.globalRows,
                                           rowIndices: t.columnIndices, columnIndices: t.rowIndices.map { Int32($0 + offset) },
                                           values: t.values, balance: .nnz, communicator: communicator)
    }
}

extension MatrixSteps {
    /// The keys of info, generate, transpose, scale and add, and how they are read.
    static let schemas: [StepSchema] = [
        StepSchema(op: "info", keys: ["matrix"], required: ["matrix"]) { keys, parser in
            keys.text("matrix", "", &parser).map { .info(matrix: $0) }
        },
        StepSchema(op: "generate", keys: ["kind", "scale", "edge_factor", "seed", "n", "shift"], required: ["kind"]) { keys, parser in
            // The generator's own keys, read as an input's `generate:` mapping is.
            let spec = keys.entries.filter { $0.0 != "name" && $0.0 != "op" }.map { ($0.1, $0.2) }
            return parser.parseGenerator(Node.mapping(Node.Mapping(spec, Tag(.map), .block, keys.node.mark)), keys.field).map { .generate($0) }
        },
        StepSchema(op: "transpose", keys: ["matrix"], required: ["matrix"]) { keys, parser in
            keys.text("matrix", "", &parser).map { .transpose(matrix: $0) }
        },
        StepSchema(op: "scale", keys: ["matrix", "alpha"], required: ["matrix", "alpha"]) { keys, parser in
            let alpha = keys.number(.finite("alpha"), &parser) ?? nil
            return keys.text("matrix", "", &parser).flatMap { m in alpha.map { .scale(matrix: m, alpha: $0) } }
        },
        StepSchema(op: "add", keys: ["a", "b", "alpha", "beta"], required: ["a", "b"]) { keys, parser in
            let alpha = keys.number(.finite("alpha"), &parser), beta = keys.number(.finite("beta"), &parser)
            guard let a = keys.text("a", "", &parser), let b = keys.text("b", "", &parser), let alpha, let beta else { return nil }
            return .add(a: a, b: b, alpha: alpha ?? 1, beta: beta ?? 1)
        },
    ]
}
