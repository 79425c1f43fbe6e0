import Foundation
import PackagePlugin

/// Before every build, records the commit the executable is built from in a
/// generated BuildInfo.swift (scripts/build-info.sh), for report provenance.
/// The file is rewritten only when the commit changes, so an unchanged tree
/// recompiles nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let generated = context.pluginWorkDirectoryURL.appending(path: "generated")
        let package = context.package.directoryURL
        return [.prebuildCommand(displayName: "Recording the commit in BuildInfo.swift",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: [package.appending(path: "scripts/build-info.sh").path, package.path,
                                             generated.appending(path: "BuildInfo.swift").path],
                                 outputFilesDirectory: generated)]
    }
}
