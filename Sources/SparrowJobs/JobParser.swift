import SparrowCore
import Yams

/// Reads a YAML job file and validates all of it before anything runs:
/// unknown keys, wrong types, undefined or duplicate names, dependency cycles,
/// output collisions, output paths escaping the output directory, missing
/// input files. Every problem is collected with its line and column, and all
/// are reported together.
public struct JobParser {
    public let file: String
    /// Directory of the job file: relative paths in the job are relative to it.
    public let baseDirectory: String
    private var problems: [SparrowError] = []
    /// Ranks the job will run on (memory estimates are per rank).
    public var ranks = 1
    /// In service mode, the only directories input files may come from (after resolving symlinks).
    public var allowedInputDirectories: [String]?
    /// In service mode, the submitter: an input is accepted only if this user may read it.
    public var reader: UserCredentials?
    /// Names of steps that were refused: their uses and outputs are not reported again.
    private var refusedSteps: Set<String> = []

    public init(file: String) {
        self.file = file
        let slash = file.lastIndex(of: "/")
        baseDirectory = slash.map { String(file[..<$0]) } ?? "."
    }

    /// Parses `text` (the job file's contents); throws every problem found.
    public static func parse(_ text: String, file: String, outputDirectoryOverride: String? = nil, ranks: Int = 1,
                             allowedInputDirectories: [String]? = nil, reader: UserCredentials? = nil) throws(SparrowError) -> JobPlan {
        var parser = JobParser(file: file)
        parser.ranks = ranks
        parser.allowedInputDirectories = allowedInputDirectories
        parser.reader = reader
        let plan = parser.build(text, outputDirectoryOverride: outputDirectoryOverride)
        if !parser.problems.isEmpty { throw parser.problems.count == 1 ? parser.problems[0] : .several(parser.problems) }
        return plan!
    }

    mutating func problem(_ node: Node?, _ field: String, _ message: String) {
        problems.append(.located(file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1, field: field, message: message))
    }

    // MARK: reading typed values

    /// The mapping's entries, reporting duplicate and unknown keys.
    private mutating func entries(_ node: Node, _ field: String, allowed: [String]?) -> [(String, Node, Node)] {
        guard let mapping = node.mapping else {
            problem(node, field, "expected a mapping (key: value lines)")
            return []
        }
        var seen = Set<String>()
        var result: [(String, Node, Node)] = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { problem(key, field, "keys must be plain names"); continue }
            if !seen.insert(name).inserted { problem(key, field.isEmpty ? name : "\(field).\(name)", "duplicate key '\(name)'"); continue }
            if let allowed, !allowed.contains(name) {
                problem(key, field.isEmpty ? name : "\(field).\(name)", "unknown key '\(name)' (expected one of: \(allowed.joined(separator: ", ")))")
                continue
            }
            result.append((name, key, value))
        }
        return result
    }

    mutating func string(_ node: Node, _ field: String) -> String? {
        guard let scalar = node.scalar else { problem(node, field, "expected a string"); return nil }
        return scalar.string
    }

    /// An integer key, checked by its option's range (the same check as the verb's flag).
    mutating func integer(_ node: Node, _ field: String, _ option: NumericOption) -> Int? {
        guard let scalar = node.scalar else { problem(node, field, "expected an integer"); return nil }
        do throws(SparrowError) { return try option.parseInteger(scalar.string, field: field) } catch {
            problem(node, field, Self.message(error))
            return nil
        }
    }

    /// A number key, checked by its option's range (the same check as the verb's flag).
    mutating func number(_ node: Node, _ field: String, _ option: NumericOption) -> Double? {
        guard let scalar = node.scalar else { problem(node, field, "expected a number"); return nil }
        do throws(SparrowError) { return try option.parse(scalar.string, field: field) } catch {
            problem(node, field, Self.message(error))
            return nil
        }
    }

    /// An error's text without the field name it starts with (the problem adds line, column and field).
    static func message(_ error: SparrowError) -> String {
        if case let .field(_, message) = error { return message }
        return error.description
    }

    mutating func boolean(_ node: Node, _ field: String) -> Bool? {
        guard let scalar = node.scalar else { problem(node, field, "expected true or false"); return nil }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: problem(node, field, "expected true or false, got '\(scalar.string)'"); return nil
        }
    }

    mutating func choice(_ node: Node, _ field: String, _ options: [String]) -> String? {
        guard let value = string(node, field) else { return nil }
        guard options.contains(value) else { problem(node, field, "expected one of \(options.joined(separator: ", ")), got '\(value)'"); return nil }
        return value
    }

    // MARK: the document

    private mutating func build(_ text: String, outputDirectoryOverride: String?) -> JobPlan? {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                problem(nil, "", "empty job file (expected inputs, steps and outputs)")
                return nil
            }
            root = node
        } catch let error as YamlError {
            switch error {
            case let .scanner(_, message, mark, _), let .parser(_, message, mark, _), let .composer(_, message, mark, _):
                problems.append(.located(file: file, line: mark.line, column: mark.column, field: "", message: "YAML syntax error: \(message)"))
            case let .duplicatedKeysInMapping(duplicates, context):
                let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
                problems.append(.located(file: file, line: context.mark.line, column: context.mark.column, field: "",
                                         message: "duplicate key \(keys) in one mapping"))
            default:
                problems.append(.input(file: file, line: nil, message: "YAML error: \(error)"))
            }
            return nil
        } catch {
            problems.append(.input(file: file, line: nil, message: "YAML error: \(error)"))
            return nil
        }
        let top = entries(root, "", allowed: ["job", "defaults", "inputs", "steps", "outputs"])
        var jobName = String(file.split(separator: "/").last ?? "job")
        if jobName.hasSuffix(".yaml") { jobName.removeLast(5) } else if jobName.hasSuffix(".yml") { jobName.removeLast(4) }
        var defaults = JobPlan.Defaults(threads: nil, outputDirectory: baseDirectory, timeLimitSeconds: nil)
        var inputs: [JobPlan.Input] = []
        var steps: [(JobPlan.Step, Node)] = []
        var outputNodes: [(String, Node, Node)] = []
        var declared: [String: Node] = [:]
        for (key, keyNode, value) in top {
            switch key {
            case "job": if let n = string(value, "job") { jobName = n }
            case "defaults":
                for (k, _, v) in entries(value, "defaults", allowed: ["threads", "output_dir", "time_limit"]) {
                    switch k {
                    case "threads": defaults.threads = integer(v, "defaults.threads", .threads)
                    case "output_dir": if let d = string(v, "defaults.output_dir") { defaults.outputDirectory = resolve(d) }
                    default: defaults.timeLimitSeconds = number(v, "defaults.time_limit", JobPlan.Defaults.timeLimit)
                    }
                }
            case "inputs":
                for (name, nameNode, spec) in entries(value, "inputs", allowed: nil) {
                    if let previous = declared[name] { problem(nameNode, "inputs.\(name)", "name '\(name)' is already defined at line \(previous.mark?.line ?? 0)"); continue }
                    declared[name] = nameNode
                    if let input = parseInput(name, spec) { inputs.append(input) }
                }
            case "steps":
                guard let sequence = value.sequence else { problem(value, "steps", "expected a list of steps"); continue }
                for (index, stepNode) in sequence.enumerated() {
                    guard let (step, nameNode) = parseStep(index, stepNode) else {
                        if let name = stepNode.mapping?["name"]?.scalar?.string { refusedSteps.insert(name) }
                        continue
                    }
                    if let previous = declared[step.name] {
                        problem(nameNode, "steps[\(index)].name", "name '\(step.name)' is already defined at line \(previous.mark?.line ?? 0)")
                        continue
                    }
                    declared[step.name] = nameNode
                    steps.append((step, stepNode))
                }
            default:
                outputNodes = entries(value, "outputs", allowed: nil)
                _ = keyNode
            }
        }
        if let outputDirectoryOverride { defaults.outputDirectory = outputDirectoryOverride }
        if root.mapping != nil, !top.contains(where: { $0.0 == "steps" }) { problem(root, "steps", "a job needs at least one step") }
        // Every name a step uses must be defined; then order steps so each follows its inputs.
        let ordered = orderSteps(steps, declared: declared)
        var outputNames = declared
        for (step, node) in steps { for part in step.operation.parts { outputNames[step.name + "." + part] = node } }
        let outputs = parseOutputs(outputNodes, declared: outputNames, directory: defaults.outputDirectory)
        return JobPlan(file: file, name: jobName, defaults: defaults, inputs: inputs, steps: ordered, outputs: outputs)
    }

    private func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : baseDirectory + "/" + path
    }

    private mutating func parseInput(_ name: String, _ spec: Node) -> JobPlan.Input? {
        let field = "inputs.\(name)"
        if let path = spec.scalar?.string {
            return checkedFile(path, spec, field).map { JobPlan.Input(name: name, source: .file($0)) }
        }
        let fields = entries(spec, field, allowed: ["path", "generate"])
        if fields.count != 1 {
            if fields.isEmpty || fields.count > 1 { problem(spec, field, "give exactly one of path or generate") }
            return nil
        }
        let (key, _, value) = fields[0]
        if key == "path" {
            guard let path = string(value, "\(field).path") else { return nil }
            return checkedFile(path, value, "\(field).path").map { JobPlan.Input(name: name, source: .file($0)) }
        }
        guard let generator = parseGenerator(value, "\(field).generate") else { return nil }
        return JobPlan.Input(name: name, source: .generator(generator))
    }

    private mutating func checkedFile(_ path: String, _ node: Node, _ field: String) -> String? {
        let resolved = resolve(path)
        if !System.fileExists(resolved) { problem(node, field, "input file \(path) does not exist"); return nil }
        if System.isDirectory(resolved) { problem(node, field, "input \(path) is a directory, not a file"); return nil }
        if !System.isRegularFile(resolved) { problem(node, field, "input \(path) is not a regular file"); return nil }
        if let allowed = allowedInputDirectories {
            guard let real = System.realPath(resolved), allowed.contains(where: { real.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) else {
                problem(node, field, "input \(path) is outside the directories this service allows (--allow-inputs)")
                return nil
            }
        }
        if let reader, let denied = reader.readProblem(resolved) {
            problem(node, field, "input \(path) is not readable by the job's submitter: \(denied)")
            return nil
        }
        return resolved
    }

    mutating func parseGenerator(_ node: Node, _ field: String) -> GeneratorSpec? {
        var kind: String?, scale = 10, edgeFactor = 16, seed: UInt64 = 1, n = 32, shift = 0.0
        var ok = true
        for (k, _, v) in entries(node, field, allowed: ["kind", "scale", "edge_factor", "seed", "n", "shift"]) {
            let name = "\(field).\(k)"
            switch k {
            case "kind": kind = choice(v, name, ["rmat", "er", "grid2d", "grid3d"]); ok = ok && kind != nil
            case "scale": if let x = integer(v, name, GeneratorSpec.Options.scale) { scale = x } else { ok = false }
            case "edge_factor": if let x = integer(v, name, GeneratorSpec.Options.edgeFactor) { edgeFactor = x } else { ok = false }
            case "seed": if let x = integer(v, name, .seed) { seed = UInt64(x) } else { ok = false }
            case "n": if let x = integer(v, name, GeneratorSpec.Options.side2d) { n = x } else { ok = false }
            default: if let x = number(v, name, GeneratorSpec.Options.shift) { shift = x } else { ok = false }
            }
        }
        guard ok else { return nil }
        guard let kind else { problem(node, "\(field).kind", "missing key 'kind' (rmat, er, grid2d or grid3d)"); return nil }
        let spec = generatorSpec(kind, scale: scale, edgeFactor: edgeFactor, seed: seed, n: n, shift: shift)
        do throws(SparrowError) {
            try spec.validate(.keys(prefix: field))
            try spec.checkMemory(ranks: ranks, field: field)
        } catch {
            problem(node, field, error.description.hasPrefix(field + ": ") ? String(error.description.dropFirst(field.count + 2)) : error.description)
            return nil
        }
        return spec
    }

    private func generatorSpec(_ kind: String, scale: Int, edgeFactor: Int, seed: UInt64, n: Int, shift: Double) -> GeneratorSpec {
        switch kind {
        case "rmat": return .rmat(scale: scale, edgeFactor: edgeFactor, seed: seed)
        case "er": return .erdosRenyi(scale: scale, edgeFactor: edgeFactor, seed: seed)
        case "grid2d": return .grid2d(n: n, shift: shift)
        default: return .grid3d(n: n, shift: shift)
        }
    }

    private mutating func parseStep(_ index: Int, _ node: Node) -> (JobPlan.Step, Node)? {
        let field = "steps[\(index)]"
        let values = entries(node, field, allowed: StepSchema.allKeys)
        var byKey: [String: Node] = [:]
        for (k, _, v) in values { byKey[k] = v }
        guard let nameNode = byKey["name"] else { problem(node, "\(field).name", "missing key 'name'"); return nil }
        guard let opNode = byKey["op"] else { problem(node, "\(field).op", "missing key 'op'"); return nil }
        guard let name = string(nameNode, "\(field).name"), let op = choice(opNode, "\(field).op", StepSchema.operations) else { return nil }
        let allowed = StepSchema.keys(for: op)
        var ok = true
        for (k, keyNode, _) in values where !allowed.contains(k) {
            problem(keyNode, "\(field).\(k)", "key '\(k)' does not apply to op \(op) (its keys: \(allowed.joined(separator: ", ")))")
            ok = false
        }
        for required in StepSchema.required(for: op) where byKey[required] == nil {
            problem(node, "\(field).\(required)", "op \(op) needs key '\(required)'")
            ok = false
        }
        guard ok else { return nil }
        // Each step's own keys are read by its schema, beside its adapter in Steps/.
        let keys = StepKeys(field: field, node: node, byKey: byKey, entries: values)
        let operation = StepSchema.schema(for: op)?.parse(keys, &self)
        guard let operation else { return nil }
        return (JobPlan.Step(name: name, operation: operation, line: node.mark?.line ?? 0), nameNode)
    }

    /// Topological order of the steps; reports undefined names and cycles.
    private mutating func orderSteps(_ steps: [(JobPlan.Step, Node)], declared: [String: Node]) -> [JobPlan.Step] {
        let byName = Dictionary(uniqueKeysWithValues: steps.map { ($0.0.name, $0) })
        var ok = true
        for (step, node) in steps {
            for used in step.operation.uses where declared[used] == nil && !refusedSteps.contains(used) {
                problem(node, "steps.\(step.name)", "'\(used)' is not defined (define it under inputs or as a step name)")
                ok = false
            }
        }
        guard ok else { return [] }
        var state: [String: Int] = [:] // 1 visiting, 2 done
        var order: [JobPlan.Step] = []
        var reported = false
        func visit(_ name: String, _ path: [String]) {
            guard let (step, node) = byName[name] else { return } // an input
            if state[name] == 2 { return }
            if state[name] == 1 {
                if !reported {
                    let cycle = (path.drop(while: { $0 != name }) + [name]).joined(separator: " → ")
                    problem(node, "steps.\(name)", "steps form a cycle: \(cycle)")
                    reported = true
                }
                return
            }
            state[name] = 1
            for used in step.operation.uses { visit(used, path + [name]) }
            state[name] = 2
            order.append(step)
        }
        for (step, _) in steps { visit(step.name, []) }
        return order
    }

    /// Output names must exist; paths stay inside the output directory and never collide.
    private mutating func parseOutputs(_ nodes: [(String, Node, Node)], declared: [String: Node], directory: String) -> [JobPlan.Output] {
        var outputs: [JobPlan.Output] = []
        var taken: [String: String] = [:]
        for (name, nameNode, value) in nodes {
            let field = "outputs.\(name)"
            guard declared[name] != nil else {
                let step = String(name.split(separator: ".").first ?? Substring(name))
                if !refusedSteps.contains(step) { problem(nameNode, field, "'\(name)' is not an input or step name") }
                continue
            }
            let pathNode: Node
            if value.scalar != nil {
                pathNode = value
            } else {
                let fields = entries(value, field, allowed: ["path"])
                guard let p = fields.first(where: { $0.0 == "path" }) else { problem(value, "\(field).path", "missing key 'path'"); continue }
                pathNode = p.2
            }
            guard let path = string(pathNode, field) else { continue }
            guard let normalized = Self.normalizedInside(path) else {
                problem(pathNode, field, "path \(path) leaves the output directory (no absolute paths or '..' above it)")
                continue
            }
            let format: JobPlan.OutputFormat
            if normalized.hasSuffix(".mtx") || normalized.hasSuffix(".petsc") { format = .matrix } else if normalized.hasSuffix(".json") { format = .json } else {
                problem(pathNode, field, "output \(path) must end in .mtx, .petsc or .json")
                continue
            }
            if let other = taken[normalized] { problem(pathNode, field, "output path \(path) is also used by output '\(other)'"); continue }
            taken[normalized] = name
            outputs.append(JobPlan.Output(name: name, path: directory + "/" + normalized, format: format))
        }
        return outputs
    }

    /// The path with '.' removed and '..' resolved, or nil if it is absolute or climbs above its base.
    static func normalizedInside(_ path: String) -> String? {
        if path.hasPrefix("/") || path.isEmpty { return nil }
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if parts.isEmpty { return nil }
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }
}

extension JobParser {
    /// Largest job file accepted: job files are small; anything larger is a mistake or an attack.
    public static let maximumJobFileBytes = 1 << 20

    /// A job file's bytes: a regular file (never a FIFO or a device) of at most 1 MiB.
    public static func readJobFile(_ path: String) throws(SparrowError) -> [UInt8] {
        try System.readWholeFile(path, limit: maximumJobFileBytes)
    }
}
