import ArgumentParser
import DeskpoolClient
import DeskpoolCore

/// `deskpool templates ...`: golden templates and their versions through the API.
struct TemplatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "templates",
        abstract: "List, define and publish templates and their versions (admin).",
        subcommands: [List.self, Show.self, Apply.self, Publish.self, DeleteVersion.self]
    )

    static func latest(_ template: TemplateView) -> String {
        template.versions.filter(\.published).map(\.number).max().map(String.init) ?? "-"
    }
}
