import ArgumentParser
import DeskpoolClient

extension TemplatesCommand {
    struct DeleteVersion: APICommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-version",
            abstract: "Delete a template version that no desktop uses and no pool pins.",
            discussion: "Fails with versionInUse while desktops use it or a pool pins it."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The template's name.") var name: String
        @Argument(help: "The version number.") var number: Int

        func run(_ api: APIClient) async throws {
            try await api.deleteVersion(template: name, number: number)
            print("deleted \(name) version \(number)")
        }
    }
}
