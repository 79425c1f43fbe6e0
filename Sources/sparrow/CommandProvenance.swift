import ArgumentParser
import Foundation
import SparrowCore
import SparrowFactor
import SparrowMPI

/// The parsed value inside one of ArgumentParser's property wrappers.
protocol ParsedArgument { var parsedValue: Any { get } }
extension Option: ParsedArgument { var parsedValue: Any { wrappedValue } }
extension Flag: ParsedArgument { var parsedValue: Any { wrappedValue } }
extension Argument: ParsedArgument { var parsedValue: Any { wrappedValue } }
/// A group of options (`CommonOptions`, `LoadOptions`): its options are the verb's own.
protocol ParsedGroup { var groupValue: Any { get } }
extension OptionGroup: ParsedGroup { var groupValue: Any { wrappedValue } }

/// What the executable adds to every report's provenance (Provenance): its
/// build, the libraries it runs on, every option of the verb after defaults,
/// and the host of each rank.
enum CommandProvenance {
    /// Collective: every rank calls it once, after parsing its command line.
    static func record(_ command: ParsableCommand, _ communicator: Communicator) throws(SparrowError) {
        Provenance.commit = BuildInfo.commit
        Provenance.libraries = [("openmpi", .string(Communicator.libraryVersion)),
                                ("suitesparse", .string(SuiteSparseLibrary.version))]
            + Provenance.coreLibraries
            // Not linked by this build; named so a reader sees they were not used.
            + [("mumps", .null), ("hypre", .null)]
        Provenance.options = options(of: command)
        Provenance.hostOfRank = try communicator.hostNames()
        // Only rank 0 writes reports and job records, so only it hashes inputs.
        InputDigests.enabled = communicator.isRoot
    }

    /// Every option and argument of a parsed command (groups flattened), named
    /// as on the command line in snake_case (`--output-dir` → output_dir;
    /// an argument or a short-only option by its property's name).
    static func options(of command: ParsableCommand) -> [(String, JSONValue)] {
        let values = leaves(of: command)
        let names = commandLineNames(type(of: command))
        // The help dump lists the arguments in declaration order, as reflection does; should the
        // two ever disagree in number, the property names are the safe spelling.
        let matched = names.count == values.count
        return values.enumerated().map { k, leaf in
            (ReflectedJSON.snakeCase((matched ? names[k] : nil) ?? leaf.0).replacingOccurrences(of: "-", with: "_"), leaf.1)
        }
    }

    private static func leaves(of subject: Any) -> [(String, JSONValue)] {
        Mirror(reflecting: subject).children.flatMap { child -> [(String, JSONValue)] in
            guard var label = child.label else { return [] }
            if let group = child.value as? ParsedGroup { return leaves(of: group.groupValue) }
            if label.hasPrefix("_") { label.removeFirst() }
            return [(label, ReflectedJSON.value((child.value as? ParsedArgument)?.parsedValue ?? child.value))]
        }
    }

    /// Each argument's long name (nil for a positional argument or a short-only option), help and version left out.
    private static func commandLineNames(_ type: ParsableCommand.Type) -> [String?] {
        guard let dump = try? JSONSerialization.jsonObject(with: Data(type._dumpHelp().utf8)) as? [String: Any],
              let arguments = (dump["command"] as? [String: Any])?["arguments"] as? [[String: Any]] else { return [] }
        return arguments.compactMap { argument -> String?? in
            let preferred = argument["preferredName"] as? [String: Any]
            let name = preferred?["name"] as? String
            if argument["kind"] as? String == "flag", name == "help" || name == "version" { return nil }
            return .some(preferred?["kind"] as? String == "long" ? name : nil)
        }
    }

    /// Replaces an option's value by what it resolved to (threads from the node's cores).
    static func resolve(_ name: String, _ value: JSONValue) {
        if let k = Provenance.options.firstIndex(where: { $0.0 == name }) { Provenance.options[k].1 = value }
    }
}
