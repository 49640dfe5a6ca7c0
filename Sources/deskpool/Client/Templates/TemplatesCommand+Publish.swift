import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension TemplatesCommand {
    struct Publish: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a template's next version from an image file on the broker's host.",
            discussion: "PATH is read by the broker, not uploaded: it must be a qcow2 or raw file on the broker's host. Pools on version latest use it for new and refreshed desktops."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The template's name.") var name: String
        @Option(help: ArgumentHelp("The image file, on the broker's host.", valueName: "path"), completion: .file(extensions: ["qcow2", "img", "raw"]))
        var image: String
        @Option(help: "What changed in this version (one line).") var note: String

        func run(_ api: APIClient) async throws {
            let version = try await api.publishVersion(template: name, imagePath: image, note: note)
            if output.json { return printJSON(try PrettyJSON.encode(version)) }
            print("published \(name) version \(version.number)")
        }
    }
}
