import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension TemplatesCommand {
    struct Publish: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a template's next version from an image: a local file (uploaded), a file of the broker's import directory, or a volume.",
            discussion: "FILE is a qcow2 or raw image on this machine: it is streamed to the broker, which checks it (no backing file, no external data file, within images.maxImageBytes and images.maxVirtualBytes) before it is copied to the hosts. --import-file names a file in the broker's import directory (images.importDirectory); --volume a volume of the hosts' storage pool. Pools on version latest use the new version for new and refreshed desktops."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The template's name.") var name: String
        @Argument(help: ArgumentHelp("The image file to upload (qcow2 or raw).", valueName: "file"), completion: .file(extensions: ["qcow2", "img", "raw"]))
        var file: String?
        @Option(help: ArgumentHelp("A file in the broker's import directory.", valueName: "name")) var importFile: String?
        @Option(help: ArgumentHelp("A volume of the hosts' storage pool.", valueName: "name")) var volume: String?
        @Option(help: "What changed in this version (one line).") var note: String

        func validate() throws {
            guard [file, importFile, volume].compactMap({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of FILE, --import-file, --volume")
            }
        }

        func run(_ api: APIClient) async throws {
            let version = if let file {
                try await api.uploadVersion(template: name, file: file, note: note)
            } else {
                try await api.publishVersion(template: name, importFile: importFile, volume: volume, note: note)
            }
            if output.json { return printJSON(try PrettyJSON.encode(version)) }
            print("published \(name) version \(version.number)")
        }
    }
}
