import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension TemplatesCommand {
    struct Apply: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or change a template from its directory (template.yaml and the domain XML).",
            discussion: "The template's name is the directory's name. Desktops pick the change up as they are re-cloned."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The template directory, e.g. templates/tiny-linux.", completion: .directory) var directory: String

        func run(_ api: APIClient) async throws {
            let definition = try TemplateDefinition.load(directory: directory)
            let template = try await api.putTemplate(definition.name, TemplateInput(definition))
            if output.json { return printJSON(try PrettyJSON.encode(template)) }
            print("template \(template.name): \(template.vcpus) vCPU, \(template.memoryMiB) MiB, machine \(template.machine), latest version \(TemplatesCommand.latest(template))")
        }
    }
}
