import ArgumentParser
import DeskpoolCore
import Foundation

/// `deskpool local template ...`: golden templates and their versions, on the store and hosts
/// directly.
struct LocalTemplateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Define templates and publish, list and delete their versions.",
        subcommands: [Apply.self, Publish.self, Versions.self, DeleteVersion.self]
    )

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or update a template from templates/NAME/ (template.yaml + domain XML).")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The template directory.", completion: .directory) var directory: String

        func run() async throws {
            let context = try await CommandContext.open(options, hosts: .none)
            // Checked here too, so that a refusal names the domain XML file.
            let template = try TemplateDefinition.load(directory: directory, policy: context.configuration.templates.domainXMLPolicy)
            try await context.admin.applyTemplate(template, actor: adminActor())
            print("template \(template.name): \(template.vcpus) vCPU, \(template.memoryMiB) MiB, machine \(template.machine)")
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish the next version of a template from an image file, a volume or a domain's disk.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The template name.") var template: String
        @Option(help: "A qcow2 or raw image file.", completion: .file()) var file: String?
        @Option(help: "A volume in the hosts' storage pool.") var volume: String?
        @Option(help: "A shut-off domain whose first disk becomes the image.") var domain: String?
        @Option(help: "What changed in this version (one line).") var note: String = ""

        func validate() throws {
            guard [file, volume, domain].compactMap({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --file, --volume, --domain")
            }
        }

        func run() async throws {
            let context = try await CommandContext.open(options)
            // Root names the file; it is still opened once and inspected like an import
            // (a regular file, qcow2 or raw, no backing or data file, within images: limits).
            let source: ImageSource = if let file {
                .opened(try OpenedImage.open(path: file, limits: context.configuration.images))
            } else if let volume { .volume(volume) } else { .domainDisk(domain!) }
            let version = try await context.admin.publishVersion(template: template, from: source, note: note, actor: adminActor())
            print("published \(template) version \(version.number) as \(version.volume)")
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a template's versions.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The template name.") var template: String

        func run() async throws {
            let context = try await CommandContext.open(options, hosts: .none)
            let desktops = try await context.store.desktops(pool: nil).filter { $0.template == template }
            for version in try await context.store.versions(template: template) {
                let users = desktops.filter { $0.version == version.number }.count
                print("\(version.number)\t\(version.published ? "published" : "importing")\t\(users) desktop(s)\t\(version.createdBy)\t\(version.note)")
            }
        }
    }

    struct DeleteVersion: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete-version", abstract: "Delete a version no desktop uses and no pool pins.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The template name.") var template: String
        @Argument(help: "The version number.") var number: Int

        func run() async throws {
            let context = try await CommandContext.open(options)
            try await context.admin.deleteVersion(template: template, number: number, actor: adminActor())
            print("deleted \(template) version \(number)")
        }
    }
}
