import ArgumentParser
import DeskpoolCore
import Foundation

/// `deskpool local policy ...`: apply a policy and follow rollouts in the store directly; the
/// running broker carries the rollout out (for recovery, and hosts without the API).
struct LocalPolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Apply a policy file and show rollouts, in the store directly (deskpool serve carries them out).",
        subcommands: [Apply.self, Status.self]
    )

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Plan the policy and record its rollout (see docs/rollouts.md).")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The policy file.", completion: .file(extensions: ["yaml", "yml"])) var file: String

        func run() async throws {
            let source: String
            do {
                source = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read \(file): \(error.localizedDescription)")
            }
            let context = try await CommandContext.open(options)
            let rollout = try await PolicyRollouts(store: context.store, hypervisors: context.hypervisors)
                .apply(source: source, file: URL(fileURLWithPath: file).lastPathComponent, actor: adminActor())
            let items = try await context.store.rolloutItems(rollout: rollout.id)
            print("rollout \(rollout.id): \(rollout.kind.rawValue) \(rollout.policy), \(items.count) desktop(s) in \(rollout.waves) wave(s)")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a rollout's desktops, or every rollout.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "A rollout id; without it, the list.") var id: String?

        func run() async throws {
            let context = try await CommandContext.open(options, hosts: .none)
            guard let id else {
                for rollout in try await context.store.rollouts(active: false, limit: 100) {
                    print("\(rollout.id)\t\(rollout.kind.rawValue)\t\(rollout.policy)\t\(rollout.state.rawValue)\twave \(rollout.wave + 1)/\(rollout.waves)")
                }
                return
            }
            guard let rollout = try await context.store.rollout(id: id) else { throw ValidationError("no rollout \(id)") }
            print("\(rollout.id)\t\(rollout.kind.rawValue)\t\(rollout.policy)\t\(rollout.state.rawValue)\t\(rollout.reason ?? "")")
            for item in try await context.store.rolloutItems(rollout: id) {
                print("\(item.desktop)\twave \(item.wave + 1)\t\(item.status.rawValue)\t\(item.from) -> \(item.to)\t\(item.detail ?? "")")
            }
        }
    }
}
